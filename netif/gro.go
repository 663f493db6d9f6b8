package netif

import (
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/nested"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro"
)

// groEndpoint sits between the link layer (Ethernet already parsed) and the
// NIC. It runs received packets through gVisor's GRO engine (stack/gro),
// which merges in-order TCP segments of a flow into one larger packet, and
// delivers what the engine holds when the driver's receive batch ends
// (Flush), so coalescing never delays a packet past its poll.
//
// Checksums: the GRO engine verifies the IPv4 header and TCP checksums of
// each segment before merging it (a merged packet's own checksums are no
// longer valid) and marks it pkt.RXChecksumValidated; so does netif for
// frames the device verified. gVisor's NIC, however, overwrites that flag
// on every packet with the link endpoint's CapabilityRXChecksumOffload
// (stack/nic.go, DeliverNetworkPacket). So the capability this endpoint
// reports follows the packet being delivered: set while a verified packet
// goes up, clear otherwise. Everything GRO passes on unverified (UDP, ICMP,
// IP fragments, IPv4 with options, a segment whose checksum failed) goes up
// with the capability clear and is verified by the stack as before. Only
// the one receive goroutine delivers; other goroutines read Capabilities for
// transmit bits only.
type groEndpoint struct {
	nested.Endpoint
	engine gro.GRO
	// verified is the checksum state of the packet being delivered.
	verified atomic.Bool
	c        *counters
}

// newGROEndpoint wraps child. With enabled false packets pass straight
// through, keeping the per-packet checksum state.
func newGROEndpoint(child stack.LinkEndpoint, enabled bool, c *counters) *groEndpoint {
	g := &groEndpoint{c: c}
	g.Endpoint.Init(child, g)
	g.engine.Init(enabled)
	g.engine.Dispatcher = (*groDeliverer)(g)
	return g
}

// DeliverNetworkPacket implements stack.NetworkDispatcher for the link
// layer below: the packet enters the GRO engine.
func (g *groEndpoint) DeliverNetworkPacket(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	g.c.rxGROIn.Add(1)
	pkt.NetworkProtocolNumber = proto
	g.engine.Enqueue(pkt)
}

// Flush delivers every packet the engine holds. Called at the end of each
// receive batch, on the receive goroutine.
func (g *groEndpoint) Flush() { g.engine.Flush() }

// Capabilities implements stack.LinkEndpoint (see the type comment).
func (g *groEndpoint) Capabilities() stack.LinkEndpointCapabilities {
	c := g.Endpoint.Capabilities()
	if g.verified.Load() {
		c |= stack.CapabilityRXChecksumOffload
	}
	return c
}

// groDeliverer is the GRO engine's dispatcher: it hands packets to the NIC
// with the capability matching their checksum state.
type groDeliverer groEndpoint

// DeliverNetworkPacket implements stack.NetworkDispatcher.
func (d *groDeliverer) DeliverNetworkPacket(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	g := (*groEndpoint)(d)
	g.c.rxGROOut.Add(1)
	if pkt.RXChecksumValidated {
		g.c.rxVerified.Add(1)
		g.verified.Store(true)
		defer g.verified.Store(false)
	}
	g.Endpoint.DeliverNetworkPacket(proto, pkt)
}

// DeliverLinkPacket implements stack.NetworkDispatcher.
func (d *groDeliverer) DeliverLinkPacket(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	(*groEndpoint)(d).Endpoint.DeliverLinkPacket(proto, pkt)
}
