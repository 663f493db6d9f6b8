package netstack

import (
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// TestLoopbackQuiet checks that the loopback NIC neither solicits routers
// nor acts on advertisements, in NewStack's stack and NewLoopback's: gVisor
// would otherwise send solicitations to itself on lo, which then counted
// in the stack's NIC totals a second after start.
func TestLoopbackQuiet(t *testing.T) {
	lone, err := NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer lone.Destroy()
	p, _, _ := newFakePair(t)
	for name, s := range map[string]*stack.Stack{"NewStack": p.a.Netstack(), "NewLoopback": lone} {
		ep, terr := s.GetNetworkEndpoint(LoopbackNICID, ipv6.ProtocolNumber)
		if terr != nil {
			t.Fatalf("%s: lo IPv6 endpoint: %s", name, terr)
		}
		c := ep.(ipv6.NDPEndpoint).NDPConfigurations()
		if c.MaxRtrSolicitations != 0 || c.HandleRAs != ipv6.HandlingRAsDisabled {
			t.Errorf("%s: lo solicits %d times, RAs %v", name, c.MaxRtrSolicitations, c.HandleRAs)
		}
		if !s.CheckNIC(LoopbackNICID) {
			t.Errorf("%s: lo is not enabled", name)
		}
	}
	ep, _ := p.a.Netstack().GetNetworkEndpoint(NICID, ipv6.ProtocolNumber)
	if c := ep.(ipv6.NDPEndpoint).NDPConfigurations(); c.MaxRtrSolicitations == 0 || c.HandleRAs == ipv6.HandlingRAsDisabled {
		t.Errorf("eth0 lost router discovery: solicits %d times, RAs %v", c.MaxRtrSolicitations, c.HandleRAs)
	}
}
