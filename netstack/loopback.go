package netstack

import (
	"fmt"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// LoopbackNICID is the loopback interface ("lo"): 127.0.0.1/8 and ::1, so
// a program reaches its own listeners as on any host (localhost resolves
// to them without DNS).
const LoopbackNICID tcpip.NICID = 2

var (
	loopback4 = netip.MustParsePrefix("127.0.0.1/8")
	loopback6 = netip.MustParsePrefix("::1/128")
)

// addLoopback creates the loopback NIC and returns its routes.
func addLoopback(s *stack.Stack) ([]tcpip.Route, error) {
	// Created disabled so that no router solicitation is scheduled
	// before quietNDP has turned them off.
	if err := s.CreateNICWithOptions(LoopbackNICID, loopback.New(), stack.NICOptions{Name: "lo", Disabled: true}); err != nil {
		return nil, fmt.Errorf("netstack: create loopback NIC: %s", err)
	}
	if err := quietNDP(s, LoopbackNICID); err != nil {
		return nil, err
	}
	if err := s.EnableNIC(LoopbackNICID); err != nil {
		return nil, fmt.Errorf("netstack: enable loopback NIC: %s", err)
	}
	var routes []tcpip.Route
	for _, p := range []netip.Prefix{loopback4, loopback6} {
		a := tcpip.AddressWithPrefix{Address: tcpip.AddrFromSlice(p.Addr().AsSlice()), PrefixLen: p.Bits()}
		proto := ipv4.ProtocolNumber
		if p.Addr().Is6() {
			proto = ipv6.ProtocolNumber
		}
		if err := s.AddProtocolAddress(LoopbackNICID, tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: a}, stack.AddressProperties{}); err != nil {
			return nil, fmt.Errorf("netstack: add loopback address %v: %s", p, err)
		}
		routes = append(routes, tcpip.Route{Destination: a.Subnet(), NIC: LoopbackNICID})
	}
	return routes, nil
}

// quietNDP stops the NIC soliciting routers and acting on router
// advertisements, as Linux does on loopback. gVisor's NDP settings are the
// protocol's, for every NIC, so lo would otherwise send up to three router
// solicitations to itself after it is enabled, each then dropped as not for
// this host, and they would count in the stack's totals (Stats.Stack.NICs
// and the IP drop counters) as if there were such traffic.
func quietNDP(s *stack.Stack, id tcpip.NICID) error {
	ep, err := s.GetNetworkEndpoint(id, ipv6.ProtocolNumber)
	if err != nil {
		return fmt.Errorf("netstack: NIC %d IPv6 endpoint: %s", id, err)
	}
	ndp, ok := ep.(ipv6.NDPEndpoint)
	if !ok {
		return fmt.Errorf("netstack: NIC %d IPv6 endpoint %T has no NDP settings", id, ep)
	}
	c := ndp.NDPConfigurations()
	c.MaxRtrSolicitations = 0
	c.HandleRAs = ipv6.HandlingRAsDisabled
	ndp.SetNDPConfigurations(c)
	return nil
}

// NewLoopback is a gVisor stack with the loopback NIC only, TCP tuned as
// NewStack's: sockets for a program or a test suite that needs no network
// (package net's own tests under the port run on one).
func NewLoopback() (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
	})
	if err := tuneTCP(s); err != nil {
		s.Destroy()
		return nil, err
	}
	routes, err := addLoopback(s)
	if err != nil {
		s.Destroy()
		return nil, err
	}
	s.SetRouteTable(routes)
	return s, nil
}
