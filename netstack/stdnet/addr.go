package stdnet

import (
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// family is a socket's network protocol and whether an IPv6 socket also
// carries IPv4 (as IPv4-mapped addresses), from net's network name: "tcp4"
// and "udp4" IPv4, "tcp6" and "udp6" IPv6 only, "tcp" and "udp" both.
type family struct {
	proto  tcpip.NetworkProtocolNumber
	v6only bool
}

func familyOf(network string, addrs ...netip.AddrPort) family {
	switch network[len(network)-1] {
	case '4':
		return family{proto: ipv4.ProtocolNumber}
	case '6':
		return family{proto: ipv6.ProtocolNumber, v6only: true}
	}
	// No version named: IPv4 if every address given is IPv4 (a dial to
	// an IPv4 peer), else a dual-stack IPv6 socket.
	v4 := false
	for _, a := range addrs {
		if !a.IsValid() || a.Addr().IsUnspecified() {
			continue
		}
		if !a.Addr().Unmap().Is4() {
			return family{proto: ipv6.ProtocolNumber}
		}
		v4 = true
	}
	if v4 {
		return family{proto: ipv4.ProtocolNumber}
	}
	return family{proto: ipv6.ProtocolNumber}
}

// full is a as gVisor addresses it on a socket of family f: IPv4 peers of
// an IPv6 socket as IPv4-mapped addresses, link-local IPv6 through nic.
// The unspecified address is the empty one (bind to every address).
func (f family) full(a netip.AddrPort, nic tcpip.NICID) tcpip.FullAddress {
	fa := tcpip.FullAddress{Port: a.Port()}
	ip := a.Addr()
	if !ip.IsValid() || ip.IsUnspecified() {
		return fa
	}
	if f.proto == ipv4.ProtocolNumber {
		fa.Addr = tcpip.AddrFrom4(ip.Unmap().As4())
		return fa
	}
	fa.Addr = tcpip.AddrFrom16(ip.As16())
	if ip.Is6() && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
		fa.NIC = nic
	}
	return fa
}

// addrPort is gVisor's address as net/netip's; an IPv4-mapped address
// stays mapped (package net unmaps it for an IPv4 socket).
func addrPort(fa tcpip.FullAddress) netip.AddrPort {
	var ip netip.Addr
	switch fa.Addr.Len() {
	case 4:
		ip = netip.AddrFrom4(fa.Addr.As4())
	case 16:
		ip = netip.AddrFrom16(fa.Addr.As16())
	default:
		return netip.AddrPortFrom(netip.Addr{}, fa.Port)
	}
	return netip.AddrPortFrom(ip, fa.Port)
}
