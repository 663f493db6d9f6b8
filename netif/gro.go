package netif

import (
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/nested"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro"
)

// groEndpoint sits between the link layer (Ethernet already parsed) and the
// NIC. Bulk TCP data arrives already merged by the endpoint's coalescer
// (coalesce.go) and passes the engine by; it runs other received packets
// through gVisor's GRO engine (stack/gro),
// which merges in-order TCP segments of a flow into one larger packet, and
// delivers what the engine holds when the driver's receive batch ends
// (Flush), so coalescing never delays a packet past its poll.
//
// Only verified packets enter the engine. A segment's checksums must be
// checked before it is merged (the merged packet's own are no longer valid),
// and the engine would check IPv4 header and TCP checksums itself, but at
// the pinned gVisor version it sums the TCP segment from the wrong offset
// (PacketData.ChecksumAtOffset counts from the start of the buffer, before
// the consumed Ethernet header): every good segment fails, so nothing is
// merged unless it arrives marked valid, and a damaged one passes when its
// damage cancels the extra 14 bytes (TestGROBypassUnverified), to be merged
// as good. So netif verifies TCP segments itself, from the received frame
// (rxHeaders.tcpChecksumsValid), marks good ones pkt.RXChecksumValidated as
// it does frames the device verified, and trims them to their IP length: the
// engine also takes the packet's length for the datagram's, so an
// Ethernet-padded short segment would add its padding to the stream
// (TestGROTrimsPadding).
//
// A verdict covers checksums only: the device verifies UDP and IPv4 with
// options too, and the engine trusts a verified packet's headers (it checks
// neither the IP version nor the lengths). So a verified packet enters the
// engine only if netif has checked its headers (parseRxHeaders) and it
// carries payload. Everything else (UDP, ICMP, fragments, IPv4 options,
// IPv6 extension headers, lengths that do not add up, bad checksums,
// segments without payload) goes up unchanged after what the engine holds,
// which may be of the same connection. A segment without payload never
// enters it because the engine, unlike Linux's, merges one into a held
// segment it follows, and a duplicate ACK would vanish into the data.
//
// gVisor's NIC then overwrites pkt.RXChecksumValidated on every packet with
// the link endpoint's CapabilityRXChecksumOffload (stack/nic.go,
// DeliverNetworkPacket). So the capability this endpoint reports follows
// the packet being delivered: set while a verified packet goes up, clear
// otherwise, and the stack verifies what is not verified as before. Only
// the one receive goroutine delivers; other goroutines read Capabilities
// for transmit bits only.
type groEndpoint struct {
	nested.Endpoint
	engine gro.GRO
	// coalesce is whether GRO and pure-ACK coalescing (ackcoalesce.go)
	// are on; acks holds the ACK held back.
	coalesce bool
	acks     ackHolder
	// engineHolds is whether the engine may hold packets (it was given
	// one since it was last flushed).
	engineHolds bool
	// verified is the checksum state of the packet being delivered.
	verified atomic.Bool
	// ep is the endpoint below, which parsed the headers of the packet
	// it is delivering (segmentOf); c is its counters.
	ep *Endpoint
	c  *counters
}

// newGROEndpoint wraps child, the layers above ep that deliver what ep
// receives. With enabled false packets pass straight through, keeping the
// per-packet checksum state.
func newGROEndpoint(child stack.LinkEndpoint, ep *Endpoint, enabled bool) *groEndpoint {
	g := &groEndpoint{ep: ep, c: &ep.c, coalesce: enabled}
	g.Endpoint.Init(child, g)
	g.engine.Init(enabled)
	g.engine.Dispatcher = (*groDeliverer)(g)
	ep.onCoalesced = g.coalescedFrame
	return g
}

// coalescedFrame hears that the endpoint's coalescer took a frame. To the
// ACK holder that is a packet other than a pure ACK: it ends a run of
// them, and the held ACK goes up before it, as it would before any data.
func (g *groEndpoint) coalescedFrame() {
	g.acks.lastIsACK = false
	g.releaseACK()
}

// DeliverNetworkPacket implements stack.NetworkDispatcher for the link
// layer below: a verified, checked TCP segment with payload enters the GRO
// engine; a pure ACK may be held back (see ackcoalesce.go); any other
// packet goes straight up after what the engine holds (see the type
// comment).
func (g *groEndpoint) DeliverNetworkPacket(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	pkt.NetworkProtocolNumber = proto
	if !g.coalesce {
		g.c.rxGROIn.Add(1)
		(*groDeliverer)(g).DeliverNetworkPacket(proto, pkt)
		return
	}
	if r := &g.ep.rxSeg; r.pkt == pkt && r.coalesced {
		// Merged by the endpoint, whose frames counted in rx_gro_in; it
		// goes up after the packets held here, which came before.
		g.releaseACK()
		g.flushEngine()
		(*groDeliverer)(g).DeliverNetworkPacket(proto, pkt)
		return
	}
	g.c.rxGROIn.Add(1)
	seg := g.ep.segmentOf(pkt)
	if g.holdACK(pkt, &seg) {
		return
	}
	if seg.payload > 0 {
		g.engine.Enqueue(pkt)
		g.engineHolds = true
		return
	}
	g.flushEngine()
	(*groDeliverer)(g).DeliverNetworkPacket(proto, pkt)
}

// Flush delivers every packet held: the endpoint's coalesced packets, then
// what the ACK holder and the engine hold. Called at the end of each
// receive batch, on the receive goroutine.
func (g *groEndpoint) Flush() {
	g.ep.releaseAll()
	g.releaseACK()
	g.flushEngine()
}

// flushEngine delivers every packet the GRO engine holds. At the pinned
// gVisor version GRO.Flush delivers only the first packet of each of its
// buckets (it takes the next list entry from the one it just removed:
// google/gvisor#14081, TestGROFlushDeliversAll), so it is called until it
// delivers nothing; each bucket delivers its packets oldest first.
func (g *groEndpoint) flushEngine() {
	if !g.engineHolds {
		return
	}
	g.engineHolds = false
	for {
		out := g.c.rxGROOut.Load()
		g.engine.Flush()
		if g.c.rxGROOut.Load() == out {
			return
		}
	}
}

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
