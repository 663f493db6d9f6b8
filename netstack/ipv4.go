package netstack

import (
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// dhcpClientPort is the UDP port DHCP servers answer clients on (RFC 2131
// section 4.1).
const dhcpClientPort = 68

// SetIPv4 makes addr the NIC's IPv4 address, replacing the one it had (or
// the unspecified address of a NIC without one), with a route to addr's
// subnet and, if gw is valid, the default route through gw. A gateway
// outside the subnet (a /32 lease, as some clouds give) is reached through
// an on-link host route. Connections on a replaced address break, as they
// would on Linux.
func (st *Stack) SetIPv4(addr netip.Prefix, gw netip.Addr) error {
	if !addr.IsValid() || !addr.Addr().Is4() || gw.IsValid() && !gw.Is4() {
		return fmt.Errorf("netstack: IPv4 address %v gateway %v: not IPv4", addr, gw)
	}
	st.v4.Lock()
	defer st.v4.Unlock()
	if addr != st.addr {
		if st.addr.Addr() == addr.Addr() {
			// Same address, another prefix: gVisor keys addresses
			// without their prefix.
			st.removeAddr4(st.addr)
			st.addr = netip.Prefix{}
		}
		pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: withPrefix(addr)}
		if err := st.s.AddProtocolAddress(NICID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("netstack: add address %v: %s", addr, err)
		}
	}
	if st.addr.IsValid() && st.addr != addr {
		st.removeAddr4(st.addr)
	}
	st.removeAddr4(netip.PrefixFrom(unspecified4, 0))
	st.removeRoutes4()
	subnet := withPrefix(addr).Subnet()
	st.s.AddRoute(tcpip.Route{Destination: subnet, NIC: NICID})
	if gw.IsValid() {
		g := tcpip.AddrFrom4(gw.As4())
		if !addr.Masked().Contains(gw) {
			st.s.AddRoute(tcpip.Route{Destination: withPrefix(netip.PrefixFrom(gw, 32)).Subnet(), NIC: NICID})
		}
		st.s.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: g, NIC: NICID})
	}
	st.addr, st.gw4 = addr, gw
	return nil
}

// ClearIPv4 removes the NIC's IPv4 address and routes, leaving it the
// unspecified address 0.0.0.0, from which a DHCP client broadcasts (RFC
// 2131 section 4.1); IPv6 is untouched.
func (st *Stack) ClearIPv4() {
	st.v4.Lock()
	defer st.v4.Unlock()
	if st.addr.IsValid() {
		st.removeAddr4(st.addr)
	}
	st.removeRoutes4()
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: withPrefix(netip.PrefixFrom(unspecified4, 0))}
	// Fails only if it is there already.
	_ = st.s.AddProtocolAddress(NICID, pa, stack.AddressProperties{})
	st.addr, st.gw4 = netip.Prefix{}, netip.Addr{}
}

// Gateway4 is the IPv4 default gateway; invalid if there is none.
func (st *Stack) Gateway4() netip.Addr {
	st.v4.Lock()
	defer st.v4.Unlock()
	return st.gw4
}

// removeAddr4 removes an IPv4 address from the NIC if it has it.
func (st *Stack) removeAddr4(p netip.Prefix) {
	_ = st.s.RemoveAddress(NICID, tcpip.AddrFrom4(p.Addr().As4()))
}

// removeRoutes4 removes every IPv4 route of the NIC (loopback's stay).
func (st *Stack) removeRoutes4() {
	st.s.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == NICID && r.Destination.ID().Len() == header.IPv4AddressSize })
}

func withPrefix(p netip.Prefix) tcpip.AddressWithPrefix {
	return tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(p.Addr().As4()), PrefixLen: p.Bits()}
}

// ListenDHCPClient opens the socket of a DHCP client: UDP port 68 on the
// NIC, whatever its IPv4 address (the unspecified one included), allowed
// to broadcast. Replies broadcast to 255.255.255.255 arrive on it, and so
// do replies unicast to the address once the NIC has one.
func (st *Stack) ListenDHCPClient() (net.PacketConn, error) {
	var wq waiter.Queue
	ep, err := st.s.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if err != nil {
		return nil, fmt.Errorf("netstack: dhcp client socket: %s", err)
	}
	ep.SocketOptions().SetBroadcast(true)
	if err := ep.Bind(tcpip.FullAddress{NIC: NICID, Port: dhcpClientPort}); err != nil {
		ep.Close()
		return nil, fmt.Errorf("netstack: dhcp client socket: bind :%d: %s", dhcpClientPort, err)
	}
	return gonet.NewUDPConn(&wq, ep), nil
}
