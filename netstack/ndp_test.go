package netstack

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// The router of the NDP tests: its link-local address and MAC, and the
// prefix it announces.
var (
	routerLL   = netip.MustParseAddr("fe80::1")
	routerMAC  = [6]byte{0x52, 0x54, 0x00, 0x00, 0x00, 0xfe}
	raPrefix   = netip.MustParsePrefix("fd00:1::/64")
	otherLL    = netip.MustParseAddr("fe80::2")
	defaultNet = tcpip.Subnet(header.IPv6EmptySubnet)
)

// routerAdvert is an Ethernet frame carrying a router advertisement from
// routerLL to all nodes: a default router for 1800 s, its link-layer
// address, and prefix for on-link determination and SLAAC (valid 1 day,
// preferred 4 hours), then the options given (whole NDP options).
func routerAdvert(prefix netip.Prefix, options ...[]byte) []byte {
	icmp := make([]byte, header.ICMPv6HeaderSize+header.NDPRAMinimumSize+8+32, 512)
	for _, o := range options {
		icmp = append(icmp, o...)
	}
	icmp[0] = byte(header.ICMPv6RouterAdvert)
	icmp[4] = 64                               // current hop limit
	binary.BigEndian.PutUint16(icmp[6:], 1800) // router lifetime
	slla := icmp[16:24]                        // source link-layer address
	slla[0], slla[1] = 1, 1
	copy(slla[2:], routerMAC[:])
	pi := icmp[24:]                                              // prefix information
	pi[0], pi[1], pi[2], pi[3] = 3, 4, byte(prefix.Bits()), 0xc0 // on-link, autonomous
	binary.BigEndian.PutUint32(pi[4:], 86400)
	binary.BigEndian.PutUint32(pi[8:], 14400)
	copy(pi[16:], prefix.Addr().AsSlice())
	src, dst := tcpip.AddrFrom16(routerLL.As16()), header.IPv6AllNodesMulticastAddress
	h := header.ICMPv6(icmp)
	h.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: h, Src: src, Dst: dst}))

	frame := make([]byte, header.EthernetMinimumSize+header.IPv6MinimumSize+len(icmp))
	header.Ethernet(frame).Encode(&header.EthernetFields{
		SrcAddr: tcpip.LinkAddress(routerMAC[:]),
		DstAddr: header.EthernetAddressFromMulticastIPv6Address(dst),
		Type:    header.IPv6ProtocolNumber,
	})
	header.IPv6(frame[header.EthernetMinimumSize:]).Encode(&header.IPv6Fields{
		PayloadLength:     uint16(len(icmp)),
		TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit:          header.NDPHopLimit,
		SrcAddr:           src,
		DstAddr:           dst,
	})
	copy(frame[header.EthernetMinimumSize+header.IPv6MinimumSize:], icmp)
	return frame
}

// receive hands frame to f's stack as f's driver would.
func (f *fakeNIC) receive(frame []byte) {
	f.mu.Lock()
	rx := f.rx
	f.mu.Unlock()
	rx(append([]byte(nil), frame...), false)
}

// slaacAddr is the EUI-64 address SLAAC gives st in prefix.
func slaacAddr(st *Stack, prefix netip.Prefix) netip.Prefix {
	a := prefix.Addr().As16()
	copy(a[8:], st.LinkLocal().AsSlice()[8:])
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

// hasRoute reports whether st routes dest through gw (invalid: on-link).
func hasRoute(st *Stack, dest tcpip.Subnet, gw netip.Addr) bool {
	var g tcpip.Address
	if gw.IsValid() {
		g = tcpip.AddrFrom16(gw.As16())
	}
	return slices.ContainsFunc(st.s.GetRouteTable(), func(r tcpip.Route) bool {
		return r.Destination == dest && r.Gateway == g
	})
}

// TestSLAACSurvivesLinkFlap: an address configured from a router
// advertisement, and the routes the advertisement gave, are there again
// after carrier goes and comes back, though the router says nothing more;
// B reaches A's HTTP server over it before and after.
func TestSLAACSurvivesLinkFlap(t *testing.T) {
	na, nb := newWire()
	t.Cleanup(func() { na.shutdown(); nb.shutdown() })
	p := newStacksWith(t, na, nb, Config{})
	b6 := netip.MustParsePrefix("fd00:1::2/64")
	if err := p.b.Netstack().AddProtocolAddress(NICID, tcpip.ProtocolAddress{
		Protocol:          header.IPv6ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(b6.Addr().As16()), PrefixLen: 64},
	}, stack.AddressProperties{}); err != nil {
		t.Fatal(err)
	}
	p.b.replaceRoute(tcpip.Route{Destination: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(b6.Addr().As16()), PrefixLen: 64}.Subnet(), NIC: NICID})

	slaac := slaacAddr(p.a, raPrefix)
	onLink := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(raPrefix.Addr().As16()), PrefixLen: 64}.Subnet()
	na.receive(routerAdvert(raPrefix))
	configured := func() bool {
		return slices.Contains(p.a.Addrs(), slaac) && hasRoute(p.a, defaultNet, routerLL) && hasRoute(p.a, onLink, netip.Addr{})
	}
	eventually(t, "SLAAC address "+slaac.String()+" and routes from the advertisement", configured)
	c := serveHTTP(t, p.a, p.b)
	url := "http://" + netip.AddrPortFrom(slaac.Addr(), 80).String() + "/hello"
	get := func() error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("GET %s before the flap: %v", url, err)
	}
	c.CloseIdleConnections()

	setLink(false, na, nb)
	eventually(t, "NIC disabled", func() bool { return !p.a.Netstack().CheckNIC(NICID) })
	setLink(true, na, nb)
	eventually(t, "SLAAC address and routes back after the flap", configured)
	// DAD runs again after the link returns: retry until it is done.
	var err error
	eventually(t, "GET over the SLAAC address after the flap", func() bool { err = get(); return err == nil })
	if s := p.a.NDPStats(); s.Replays != 1 || s.Addresses != 2 {
		t.Errorf("NDP stats %+v: want one advertisement replayed, the address configured twice", s)
	}
}

// TestNDPBurstLeavesNoStaleRoute: NDP events far more numerous than any
// queue would hold arrive while the stack's NDP goroutine is busy; once it
// is free, the route table is what the last events say: no route through
// the router that went away, the new router's, none of the prefixes that
// came and went. Two routers' default routes are told apart.
func TestNDPBurstLeavesNoStaleRoute(t *testing.T) {
	na, nb := newWire()
	t.Cleanup(func() { na.shutdown(); nb.shutdown() })
	busy, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	st := newStack(t, na, Config{OnAddress: func(netip.Prefix) {
		once.Do(func() { close(busy); <-release })
	}})
	d := st.ndp
	addr := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(netip.MustParseAddr("fd00:9::1").As16()), PrefixLen: 64}
	d.OnAutoGenAddress(NICID, addr)
	<-busy // the NDP goroutine waits in OnAddress
	r1, r2 := tcpip.AddrFrom16(routerLL.As16()), tcpip.AddrFrom16(otherLL.As16())
	d.OnOffLinkRouteUpdated(NICID, defaultNet, r1, header.MediumRoutePreference)
	const churn = 500
	for i := range churn {
		a := netip.AddrFrom16([16]byte{0xfd, 0, 0, byte(i >> 8), byte(i)})
		prefix := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(a.As16()), PrefixLen: 64}.Subnet()
		d.OnOnLinkPrefixDiscovered(NICID, prefix)
		d.OnOnLinkPrefixInvalidated(NICID, prefix)
	}
	d.OnOffLinkRouteInvalidated(NICID, defaultNet, r1)
	d.OnOffLinkRouteUpdated(NICID, defaultNet, r2, header.MediumRoutePreference)
	close(release)
	eventually(t, "default route through the second router only", func() bool {
		return hasRoute(st, defaultNet, otherLL) && !hasRoute(st, defaultNet, routerLL)
	})
	for _, r := range st.s.GetRouteTable() {
		if id := r.Destination.ID(); r.Destination.Prefix() == 64 && id.As16()[0] == 0xfd {
			t.Errorf("stale route %v", r)
		}
	}
	s := st.NDPStats()
	if s.Events != 2*churn+4 || s.Coalesced == 0 {
		t.Errorf("NDP stats %+v: want %d events, most coalesced", s, 2*churn+4)
	}

	// Both routers, then the first gone: the second's route stays.
	d.OnOffLinkRouteUpdated(NICID, defaultNet, r1, header.MediumRoutePreference)
	eventually(t, "default routes through both routers", func() bool {
		return hasRoute(st, defaultNet, routerLL) && hasRoute(st, defaultNet, otherLL)
	})
	d.OnOffLinkRouteInvalidated(NICID, defaultNet, r1)
	eventually(t, "the first router's route removed", func() bool { return !hasRoute(st, defaultNet, routerLL) })
	if !hasRoute(st, defaultNet, otherLL) {
		t.Errorf("the second router's default route went with the first's: %v", st.s.GetRouteTable())
	}
}

// filterNIC is a fakeNIC with a multicast filter that records its groups.
type filterNIC struct {
	*fakeNIC
	mu     sync.Mutex
	groups map[[6]byte]bool
}

func (f *filterNIC) AddMulticast(mac [6]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[mac] = true
	return nil
}

func (f *filterNIC) RemoveMulticast(mac [6]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.groups[mac] {
		return fmt.Errorf("%x not added", mac)
	}
	delete(f.groups, mac)
	return nil
}

func (f *filterNIC) has(addr netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.groups[groupMAC(header.SolicitedNodeAddr(tcpip.AddrFrom16(addr.As16())))]
}

// TestSolicitedNodeGroupLeft: a SLAAC address's solicited-node group is
// left when the address goes, unless another address is in it (an EUI-64
// address shares the link-local address's group).
func TestSolicitedNodeGroupLeft(t *testing.T) {
	na, nb := newWire()
	t.Cleanup(func() { na.shutdown(); nb.shutdown() })
	nic := &filterNIC{fakeNIC: na, groups: map[[6]byte]bool{}}
	st := newStack(t, nic, Config{})
	if !nic.has(st.LinkLocal()) {
		t.Fatal("link-local address's group not joined")
	}
	d := st.ndp
	opaque := netip.MustParseAddr("fd00:1::1234:5678:9abc:def0")
	eui := slaacAddr(st, raPrefix).Addr()
	for _, a := range []netip.Addr{opaque, eui} {
		d.OnAutoGenAddress(NICID, tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(a.As16()), PrefixLen: 64})
	}
	eventually(t, "both addresses' groups joined", func() bool { return nic.has(opaque) && nic.has(eui) })
	for _, a := range []netip.Addr{opaque, eui} {
		d.OnAutoGenAddressInvalidated(NICID, tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(a.As16()), PrefixLen: 64})
	}
	eventually(t, "the opaque address's group left", func() bool { return !nic.has(opaque) })
	if !nic.has(st.LinkLocal()) {
		t.Error("the link-local address's group was left with the EUI-64 address that shares it")
	}
	if s := st.NDPStats(); s.FilterErrors != 0 {
		t.Errorf("NDP stats %+v", s)
	}
}
