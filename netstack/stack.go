// Package netstack is the gVisor network stack the application uses, on one
// NIC over a netif link: its configuration (IPv4 addresses and routes,
// static or from a DHCP client, whose socket it opens; IPv6 link-local,
// static and SLAAC addresses, the routes neighbour discovery learns, the
// router advertisements kept over a link flap, and the multicast groups
// the driver's filter must pass), the NIC following the carrier, the live
// capture point, and the application's TCP and UDP sockets.
package netstack

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/sniffer"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"tamanet/netif"
	"tamanet/netif/capture"
)

// NICID is the gVisor NIC the link is attached as.
const NICID tcpip.NICID = 1

// Defaults for zero Config fields.
var (
	// DefaultAddr is QEMU user networking's guest address.
	DefaultAddr = netip.MustParsePrefix("10.0.2.15/24")
	// DefaultGateway is QEMU user networking's gateway.
	DefaultGateway = netip.MustParseAddr("10.0.2.2")
)

const (
	// DefaultTxQueueLen is the depth of the fifo qdisc in front of the
	// driver, Linux's default txqueuelen.
	DefaultTxQueueLen = 1000
	// DefaultSnapLen captures whole packets.
	DefaultSnapLen = 65535
)

// TCP buffer sizes: a unikernel has no other tenants, but each connection's
// buffers are real memory, so the send buffer starts moderate and
// auto-tuning grows the receive buffer for fast, long connections. The
// receive buffer starts at 1 MiB (the window a peer may fill before the
// application reads): from 128 KiB, gVisor's auto-tuning kept the window
// small on a loaded host and an echoed upload over virtio-net ran at a
// fifth of the rate (bench/interleave.sh A/B, 2 rounds each, TCG, tap).
const (
	tcpBufMin        = 4 << 10
	tcpRcvBufDefault = 1 << 20
	tcpSndBufDefault = 256 << 10
	tcpBufMax        = 2 << 20
)

// Config is the stack's addressing and link options. Zero fields take the
// defaults.
type Config struct {
	// Addr is the static IPv4 address and prefix (DefaultAddr).
	Addr netip.Prefix
	// Gateway is the IPv4 default gateway, inside Addr (DefaultGateway).
	Gateway netip.Addr
	// NoAddr4 starts the NIC without an IPv4 address (Addr and Gateway
	// must be zero): it has only the unspecified address 0.0.0.0, from
	// which a DHCP client broadcasts (ListenDHCPClient), until SetIPv4.
	NoAddr4 bool
	// Pcap, if set, receives every packet in and out, as a pcap stream
	// written by gVisor's sniffer (link type RAW: IP packets, no Ethernet
	// header). Writes come from the receive and transmit paths
	// concurrently, so Pcap must be safe for that. Setting it turns off
	// the sniffer package's text logging (sniffer.LogPackets), which is
	// global.
	Pcap io.Writer
	// SnapLen caps the captured bytes per packet (DefaultSnapLen).
	SnapLen uint32
	// TxQueueLen is how many packets the fifo qdisc holds while the driver's
	// ring is full (DefaultTxQueueLen). Beyond it, writes fail with
	// ErrNoBufferSpace and gVisor counts NICs.TxPacketsDroppedNoBufferSpace.
	TxQueueLen int
	// NoOffload leaves the device's offloads unused: no host GSO (TSO and
	// TCP checksum insertion), no GRO, no trust in the device's receive
	// checksum verdicts. For comparison; the default uses them all.
	NoOffload bool
	// Addr6 is a static IPv6 address and prefix, besides the link-local
	// address (always) and those SLAAC configures from router
	// advertisements (unless NoSLAAC).
	Addr6 netip.Prefix
	// Gateway6 is a static IPv6 default router; without it the default
	// route comes from router advertisements.
	Gateway6 netip.Addr
	// NoSLAAC turns off acting on router advertisements: no addresses,
	// routers or prefixes are learnt from them.
	NoSLAAC bool
	// OnAddress, if set, is called with each address SLAAC adds, from the
	// stack's NDP goroutine.
	OnAddress func(netip.Prefix)
	// OnDNS6, if set, is called with the name servers and search domains
	// router advertisements announce (RFC 8106) each time they change
	// (an announcement, a lifetime's end), from the NDP goroutine.
	OnDNS6 func(DNS6)
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.NoAddr4 && (c.Addr.IsValid() || c.Gateway.IsValid()) {
		return c, fmt.Errorf("netstack: NoAddr4 with an IPv4 address or gateway")
	}
	if !c.Addr.IsValid() && !c.NoAddr4 {
		c.Addr = DefaultAddr
	}
	if !c.Gateway.IsValid() && !c.NoAddr4 {
		c.Gateway = DefaultGateway
	}
	if c.SnapLen == 0 {
		c.SnapLen = DefaultSnapLen
	}
	if c.TxQueueLen == 0 {
		c.TxQueueLen = DefaultTxQueueLen
	}
	switch {
	case c.NoAddr4:
	case !c.Addr.Addr().Is4():
		return c, fmt.Errorf("netstack: address %v is not IPv4", c.Addr)
	case !c.Gateway.Is4():
		return c, fmt.Errorf("netstack: gateway %v is not IPv4", c.Gateway)
	case !c.Addr.Masked().Contains(c.Gateway):
		return c, fmt.Errorf("netstack: gateway %v is outside %v", c.Gateway, c.Addr)
	}
	switch {
	case c.TxQueueLen < 0:
		return c, fmt.Errorf("netstack: negative TxQueueLen %d", c.TxQueueLen)
	case c.Addr6.IsValid() && (!c.Addr6.Addr().Is6() || c.Addr6.Addr().Is4In6()):
		return c, fmt.Errorf("netstack: address %v is not IPv6", c.Addr6)
	case c.Gateway6.IsValid() && (!c.Gateway6.Is6() || c.Gateway6.Is4In6()):
		return c, fmt.Errorf("netstack: gateway %v is not IPv6", c.Gateway6)
	}
	return c, nil
}

// Stack is a gVisor network stack with one NIC on a netif.Driver.
type Stack struct {
	s         *stack.Stack
	link      *netif.Link
	ep        *netif.Endpoint
	linkLocal tcpip.Address
	capture   *capture.Point
	ndp       *ndpDispatcher
	onAddress func(netip.Prefix)
	onDNS6    func(DNS6)
	groups    *groupFilter
	// ras keeps the routers' advertisements, to give back to gVisor when
	// the link returns (nil with NoSLAAC).
	ras *raCache

	// linkMu guards linkSubs, the OnLinkChange callbacks, and downsSeen,
	// the endpoint's LinkDown count at linkWatch's last look.
	linkMu    sync.Mutex
	linkSubs  []func(up bool)
	downsSeen uint64

	// v4 serializes changes of the IPv4 configuration and guards addr
	// and gw4, the address and gateway it has (invalid: none).
	v4   sync.Mutex
	addr netip.Prefix
	gw4  netip.Addr

	linkEvent chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewStack builds a gVisor stack (IPv4, IPv6, ARP, TCP, UDP, ICMPv4/v6) with
// NIC 1 on a netif.Link over d, with [sniffer over] the live capture point
// (CapturePoint) as its Tap. The NIC gets cfg's IPv4 address (none with
// NoAddr4), an EUI-64 IPv6 link-local address and routes for both subnets
// plus the IPv4 default gateway. It is enabled while the driver reports
// carrier and disabled while it does not.
func NewStack(d netif.Driver, cfg Config) (*Stack, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ndp := newNDPDispatcher()
	ndpConfigs := ipv6.DefaultNDPConfigurations()
	// A server keeps its addresses: no temporary (privacy) addresses.
	ndpConfigs.AutoGenTempGlobalAddresses = false
	if cfg.NoSLAAC {
		ndpConfigs.HandleRAs = ipv6.HandlingRAsDisabled
	}
	s := stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{
			ipv4.NewProtocol,
			ipv6.NewProtocolWithOptions(ipv6.Options{NDPConfigs: ndpConfigs, NDPDisp: ndp}),
			arp.NewProtocol,
		},
		TransportProtocols: []stack.TransportProtocolFactory{
			tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6,
		},
		HandleLocal: true,
	})
	st := &Stack{
		s:         s,
		linkEvent: make(chan struct{}, 1),
		done:      make(chan struct{}),
		ndp:       ndp,
		onAddress: cfg.OnAddress,
		onDNS6:    cfg.OnDNS6,
		groups:    newGroupFilter(d),
	}
	ndp.st = st
	go ndp.run(st.done)
	if err := st.setup(d, cfg); err != nil {
		s.Destroy()
		return nil, err
	}
	if !cfg.NoSLAAC {
		ras, err := newRACache(s, st.done)
		if err != nil {
			s.Destroy()
			return nil, err
		}
		st.ras = ras
	}
	go st.linkWatch()
	return st, nil
}

// tuneTCP sets the TCP options every stack here runs with.
func tuneTCP(s *stack.Stack) error {
	sack := tcpip.TCPSACKEnabled(true)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: tcpBufMin, Default: tcpRcvBufDefault, Max: tcpBufMax}
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: tcpBufMin, Default: tcpSndBufDefault, Max: tcpBufMax}
	// RACK off, i.e. RFC 6675 SACK recovery: with this gVisor's RACK, the
	// burst loss of a link flap (a few hundred segments in TestLinkFlap)
	// was repaired at about two segments per RTO, taking seconds to tens
	// of seconds; with SACK recovery the stream resumes after one RTO.
	recovery := tcpip.TCPRecovery(0)
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &moderate, &rcv, &snd, &recovery} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			return fmt.Errorf("netstack: tcp option %T: %s", opt, err)
		}
	}
	return nil
}

// setup tunes TCP, creates the NIC on d and configures addresses and
// routes.
func (st *Stack) setup(d netif.Driver, cfg Config) error {
	s := st.s
	if err := tuneTCP(s); err != nil {
		return err
	}

	// The capture point and the sniffer sit below GRO, so a capture
	// shows packets as they arrived.
	tap := func(eth stack.LinkEndpoint) (stack.LinkEndpoint, error) {
		st.capture = capture.NewPoint(eth)
		if cfg.Pcap == nil {
			return st.capture, nil
		}
		// NewWithWriter promises pcap only, but the sniffer also logs
		// every packet as text while the package-wide LogPackets is set.
		sniffer.LogPackets.Store(0)
		sn, err := sniffer.NewWithWriter(st.capture, cfg.Pcap, cfg.SnapLen)
		if err != nil {
			return nil, fmt.Errorf("netstack: pcap header: %w", err)
		}
		return sn, nil
	}
	// The carrier callback is set before the NIC attaches the link so no
	// change is missed; linkWatch applies it to the NIC outside the
	// driver's context.
	link, err := netif.NewLink(d, netif.LinkOptions{
		NoOffload:  cfg.NoOffload,
		TxQueueLen: cfg.TxQueueLen,
		Tap:        tap,
		OnCarrier:  st.kickLinkWatch,
	})
	if err != nil {
		return err
	}
	st.link, st.ep = link, link.Endpoint()
	q := link.QueueingDiscipline()
	if err := s.CreateNICWithOptions(NICID, link.LinkEndpoint(), stack.NICOptions{Name: "eth0", QDisc: q}); err != nil {
		q.Close()
		return fmt.Errorf("netstack: create NIC: %s", err)
	}

	st.linkLocal = header.LinkLocalAddr(st.ep.LinkAddress())
	v6 := tcpip.AddressWithPrefix{Address: st.linkLocal, PrefixLen: header.IIDOffsetInIPv6Address * 8}
	addrs := []tcpip.ProtocolAddress{{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: v6}}
	routes := []tcpip.Route{{Destination: v6.Subnet(), NIC: NICID}}
	if cfg.Addr6.IsValid() {
		a6 := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(cfg.Addr6.Addr().As16()), PrefixLen: cfg.Addr6.Bits()}
		addrs = append(addrs, tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: a6})
		routes = append(routes, tcpip.Route{Destination: a6.Subnet(), NIC: NICID})
	}
	if cfg.Gateway6.IsValid() {
		routes = append(routes, tcpip.Route{Destination: header.IPv6EmptySubnet, Gateway: tcpip.AddrFrom16(cfg.Gateway6.As16()), NIC: NICID})
	}
	for _, pa := range addrs {
		if err := s.AddProtocolAddress(NICID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("netstack: add address %s: %s", pa.AddressWithPrefix, err)
		}
	}
	if err := st.groups.joinAllNodes(); err != nil {
		return err
	}
	if err := st.groups.joinSolicitedNode(st.linkLocal); err != nil {
		return err
	}
	if cfg.Addr6.IsValid() {
		if err := st.groups.joinSolicitedNode(tcpip.AddrFrom16(cfg.Addr6.Addr().As16())); err != nil {
			return err
		}
	}
	lo, err := addLoopback(s)
	if err != nil {
		return err
	}
	s.SetRouteTable(append(routes, lo...))
	if cfg.NoAddr4 {
		st.ClearIPv4()
	} else if err := st.SetIPv4(cfg.Addr, cfg.Gateway); err != nil {
		return err
	}
	st.applyLink()
	return nil
}

// replaceRoute adds r, replacing an equal route.
func (st *Stack) replaceRoute(r tcpip.Route) {
	st.removeRoute(r)
	st.s.AddRoute(r)
}

// removeRoute removes routes equal to r, gateway included (gVisor's
// Route.Equal ignores it, which would take the default route through one
// router away with another's).
func (st *Stack) removeRoute(r tcpip.Route) {
	st.s.RemoveRoutes(func(x tcpip.Route) bool { return x.Equal(r) && x.Gateway == r.Gateway })
}

// Addrs lists every address of the NIC, IPv4 and IPv6 (link-local, static
// and SLAAC), less the IPv4 limited broadcast address gVisor keeps on every
// NIC and the unspecified one of a NIC without IPv4 address, IPv4 first and each family in address order (gVisor's own order
// varies).
func (st *Stack) Addrs() []netip.Prefix {
	var out []netip.Prefix
	for _, pa := range st.s.AllAddresses()[NICID] {
		a := pa.AddressWithPrefix
		ip, _ := netip.AddrFromSlice(a.Address.AsSlice())
		if ip == limitedBroadcast || ip == unspecified4 {
			continue
		}
		out = append(out, netip.PrefixFrom(ip, a.PrefixLen))
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
}

var (
	limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	unspecified4     = netip.AddrFrom4([4]byte{})
)

// Close tears the stack down: it aborts every endpoint, removes the NIC and
// waits for gVisor's goroutines. The driver keeps running; frames it still
// delivers are counted as RxDetached.
func (st *Stack) Close() {
	st.closeOnce.Do(func() {
		close(st.done)
		st.s.Destroy()
	})
}

// Netstack is the underlying gVisor stack, for what the helpers don't cover.
func (st *Stack) Netstack() *stack.Stack { return st.s }

// Endpoint is the link endpoint on the driver.
func (st *Stack) Endpoint() *netif.Endpoint { return st.ep }

// CapturePoint is where live captures of the NIC's packets are taken
// (capture.Handler serves them).
func (st *Stack) CapturePoint() *capture.Point { return st.capture }

// Addr is the IPv4 address and prefix of the NIC; invalid if it has none.
func (st *Stack) Addr() netip.Prefix {
	st.v4.Lock()
	defer st.v4.Unlock()
	return st.addr
}

// LinkLocal is the NIC's IPv6 link-local address, derived from the MAC.
func (st *Stack) LinkLocal() netip.Addr { return netip.AddrFrom16(st.linkLocal.As16()) }
