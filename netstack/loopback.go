package netstack

import (
	"fmt"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
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
	if err := s.CreateNICWithOptions(LoopbackNICID, loopback.New(), stack.NICOptions{Name: "lo"}); err != nil {
		return nil, fmt.Errorf("netstack: create loopback NIC: %s", err)
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
