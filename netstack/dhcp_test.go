package netstack

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"tamanet/dhcpclient"
)

// dhcpServer is a small DHCP server on a test stack: it offers and
// acknowledges the address in offer, answering to the broadcast address
// unless the client has one (ciaddr), while answering is on.
type dhcpServer struct {
	conn      *gonet.UDPConn
	offer     atomic.Pointer[netip.Prefix]
	answering atomic.Bool

	mu   sync.Mutex
	from []netip.AddrPort // source of each REQUEST/DISCOVER, in order
}

func newDHCPServer(t *testing.T, st *Stack, offer netip.Prefix) *dhcpServer {
	t.Helper()
	var wq waiter.Queue
	ep, terr := st.s.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if terr != nil {
		t.Fatal(terr)
	}
	ep.SocketOptions().SetBroadcast(true)
	if terr := ep.Bind(tcpip.FullAddress{Port: 67}); terr != nil {
		t.Fatal(terr)
	}
	s := &dhcpServer{conn: gonet.NewUDPConn(&wq, ep)}
	s.offer.Store(&offer)
	s.answering.Store(true)
	t.Cleanup(func() { s.conn.Close() })
	go s.serve(st.Addr().Addr())
	return s
}

func (s *dhcpServer) serve(self netip.Addr) {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var req layers.DHCPv4
		if req.DecodeFromBytes(buf[:n], gopacket.NilDecodeFeedback) != nil {
			continue
		}
		s.mu.Lock()
		s.from = append(s.from, from.(*net.UDPAddr).AddrPort())
		s.mu.Unlock()
		if !s.answering.Load() {
			continue
		}
		typ := layers.DHCPMsgTypeAck
		for _, o := range req.Options {
			if o.Type == layers.DHCPOptMessageType && layers.DHCPMsgType(o.Data[0]) == layers.DHCPMsgTypeDiscover {
				typ = layers.DHCPMsgTypeOffer
			}
		}
		offer := *s.offer.Load()
		rep := layers.DHCPv4{
			Operation: layers.DHCPOpReply, HardwareType: layers.LinkTypeEthernet, HardwareLen: 6,
			Xid: req.Xid, Flags: req.Flags, ClientHWAddr: req.ClientHWAddr, YourClientIP: offer.Addr().AsSlice(),
		}
		u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
		for _, o := range []layers.DHCPOption{
			layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(typ)}),
			layers.NewDHCPOption(layers.DHCPOptServerID, self.AsSlice()),
			layers.NewDHCPOption(layers.DHCPOptSubnetMask, net.CIDRMask(offer.Bits(), 32)),
			layers.NewDHCPOption(layers.DHCPOptRouter, self.AsSlice()),
			layers.NewDHCPOption(layers.DHCPOptDNS, []byte{10, 0, 2, 3}),
			layers.NewDHCPOption(layers.DHCPOptLeaseTime, u32(4)),
			layers.NewDHCPOption(layers.DHCPOptT1, u32(1)),
			layers.NewDHCPOption(layers.DHCPOptT2, u32(3)),
		} {
			rep.Options = append(rep.Options, o)
		}
		b := gopacket.NewSerializeBuffer()
		if rep.SerializeTo(b, gopacket.SerializeOptions{}) != nil {
			continue
		}
		to := &net.UDPAddr{IP: net.IPv4bcast, Port: 68}
		if ci, _ := netip.AddrFromSlice(req.ClientIP.To4()); ci.IsValid() && !ci.IsUnspecified() {
			to.IP = ci.AsSlice()
		}
		s.conn.WriteTo(b.Bytes(), to)
	}
}

// sources returns where the server's requests came from.
func (s *dhcpServer) sources() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netip.AddrPort(nil), s.from...)
}

// TestDHCPClient runs package dhcpclient on a stack without an IPv4
// address against a server on the other end of the wire: the lease
// configures the address and default route and serves HTTP; renewals go
// unicast from the leased address; when the server goes silent the lease
// ends, the address goes, and discovery broadcasts from 0.0.0.0 again.
func TestDHCPClient(t *testing.T) {
	na, nb := newWire()
	t.Cleanup(func() { na.shutdown(); nb.shutdown() })
	a := newStack(t, na, Config{NoAddr4: true})
	b := newStack(t, nb, Config{Addr: addrB, Gateway: addrA.Addr()})
	if a.Addr().IsValid() || len(a.Addrs()) != 1 {
		t.Fatalf("addresses %v before DHCP, want the link-local one only", a.Addrs())
	}
	first, second := netip.MustParsePrefix("10.0.2.77/24"), netip.MustParsePrefix("10.0.2.78/24")
	srv := newDHCPServer(t, b, first)

	conn, err := a.ListenDHCPClient()
	if err != nil {
		t.Fatal(err)
	}
	c := dhcpclient.New(conn, dhcpclient.Config{
		MAC:    na.MAC(),
		Apply:  func(_, l dhcpclient.Lease) error { return a.SetIPv4(l.Addr, l.Gateway) },
		Remove: func(dhcpclient.Lease) { a.ClearIPv4() },
		Log:    func(s string) { t.Log(s) },
		Timing: dhcpclient.Timing{Retransmit: 100 * time.Millisecond, MaxRetransmit: 400 * time.Millisecond,
			Jitter: 20 * time.Millisecond, MinRenewRetry: 200 * time.Millisecond},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	l, err := c.WaitLease(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Addr() != first || a.Gateway4() != addrB.Addr() || l.DNS[0] != netip.MustParseAddr("10.0.2.3") {
		t.Fatalf("stack %v via %v, lease %+v", a.Addr(), a.Gateway4(), l)
	}
	if from := srv.sources()[0]; from != netip.MustParseAddrPort("0.0.0.0:68") {
		t.Errorf("DISCOVER from %v, want 0.0.0.0:68", from)
	}
	if err := ping(b, first.Addr(), []byte("leased")); err != nil {
		t.Errorf("ping the leased address: %v", err)
	}
	hc := serveHTTP(t, a, b)
	resp, err := hc.Get("http://" + first.Addr().String() + "/hello")
	if err != nil {
		t.Fatalf("HTTP to the leased address: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	eventually(t, "a renewal", func() bool { return c.Stats().Renewals >= 1 })
	var unicast bool
	for _, from := range srv.sources() {
		unicast = unicast || from.Addr() == first.Addr()
	}
	if !unicast {
		t.Errorf("no request from the leased address: %v", srv.sources())
	}

	// The server goes silent: the lease runs out, the address goes.
	srv.answering.Store(false)
	eventually(t, "the lease to end", func() bool { return c.Stats().Expiries == 1 })
	if a.Addr().IsValid() || a.Gateway4().IsValid() || len(a.Addrs()) != 1 {
		t.Errorf("after expiry: address %v gateway %v, addresses %v", a.Addr(), a.Gateway4(), a.Addrs())
	}
	if err := ping(b, first.Addr(), nil); err == nil {
		t.Error("the expired address still answers")
	}
	n := len(srv.sources())
	eventually(t, "DISCOVER after expiry", func() bool { return len(srv.sources()) > n })
	if from := srv.sources()[n]; from != netip.MustParseAddrPort("0.0.0.0:68") {
		t.Errorf("DISCOVER after expiry from %v, want 0.0.0.0:68", from)
	}

	// And back, on another address.
	srv.offer.Store(&second)
	srv.answering.Store(true)
	eventually(t, "a second lease", func() bool { return a.Addr() == second })
	if err := ping(b, second.Addr(), []byte("again")); err != nil {
		t.Errorf("ping the second lease: %v", err)
	}
	if s := c.Stats(); s.Leases != 2 || s.Malformed != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestSetIPv4: replacing the address and prefix and the gateway leaves
// exactly the new configuration; a gateway outside a /32 is reached
// on-link.
func TestSetIPv4(t *testing.T) {
	p, _, _ := newFakePair(t)
	a := p.a
	if err := a.SetIPv4(netip.MustParsePrefix("10.0.2.15/25"), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if got := a.Addrs()[0]; got != netip.MustParsePrefix("10.0.2.15/25") || a.Gateway4().IsValid() {
		t.Errorf("address %v gateway %v", got, a.Gateway4())
	}
	if err := ping(p.b, addrA.Addr(), nil); err != nil {
		t.Errorf("ping after a prefix change: %v", err)
	}
	host := netip.MustParsePrefix("10.0.2.16/32")
	if err := a.SetIPv4(host, addrB.Addr()); err != nil {
		t.Fatal(err)
	}
	if got := a.Addrs(); len(got) != 2 || got[0] != host {
		t.Errorf("addresses %v, want %v and the link-local one", got, host)
	}
	var routes []string
	for _, r := range a.Netstack().GetRouteTable() {
		if r.Destination.ID().Len() == 4 && r.NIC == NICID {
			routes = append(routes, r.String())
		}
	}
	if len(routes) != 3 {
		t.Errorf("IPv4 routes %v, want the /32, the on-link gateway and the default", routes)
	}
	// B answers 10.0.2.16 through its own /24 route; A reaches B through
	// the on-link host route.
	if err := ping(a, addrB.Addr(), []byte("on-link")); err != nil {
		t.Errorf("ping the on-link gateway: %v", err)
	}
	if err := a.SetIPv4(netip.MustParsePrefix("::1/128"), netip.Addr{}); err == nil {
		t.Error("an IPv6 address taken as IPv4")
	}
}
