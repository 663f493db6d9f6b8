package netstack

// The tests' sockets, over gVisor's gonet adapter (programs use package
// net, which stdnet puts on the stack).

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// ListenTCP listens for TCP connections to port on every address of the
// stack, IPv4 and IPv6: one dual-stack gVisor endpoint (IPv6, not
// v6-only), on which IPv4 peers appear as IPv4-mapped IPv6 addresses.
func (st *Stack) ListenTCP(port uint16) (net.Listener, error) {
	l, err := gonet.ListenTCP(st.s, tcpip.FullAddress{Port: port}, ipv6.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("netstack: listen tcp :%d: %w", port, err)
	}
	return l, nil
}

// ListenUDP opens a UDP socket on port of every address of the stack,
// IPv4 and IPv6 (dual-stack, as ListenTCP).
func (st *Stack) ListenUDP(port uint16) (net.PacketConn, error) {
	c, err := gonet.DialUDP(st.s, &tcpip.FullAddress{Port: port}, nil, ipv6.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("netstack: listen udp :%d: %w", port, err)
	}
	return c, nil
}

// DialTCP connects to addr, IPv4 or IPv6 (link-local addresses are reached
// through the stack's NIC).
func (st *Stack) DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	ip := addr.Addr().Unmap()
	full := tcpip.FullAddress{Port: addr.Port()}
	proto := ipv4.ProtocolNumber
	switch {
	case ip.Is4():
		full.Addr = tcpip.AddrFrom4(ip.As4())
	case ip.Is6():
		full.Addr = tcpip.AddrFrom16(ip.As16())
		full.NIC = NICID
		proto = ipv6.ProtocolNumber
	default:
		return nil, fmt.Errorf("netstack: dial tcp: invalid address %v", addr)
	}
	c, err := gonet.DialContextTCP(ctx, st.s, full, proto)
	if err != nil {
		return nil, fmt.Errorf("netstack: dial tcp %v: %w", addr, err)
	}
	return c, nil
}
