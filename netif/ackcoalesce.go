package netif

import (
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// ACK coalescing. A host receiving our bulk transmit acknowledges every few
// segments, so a download brings in several thousand pure ACKs a second, and
// each one costs the guest a full trip through gVisor's IP and TCP layers
// (about half of its CPU in a download profile). GRO cannot help: a segment
// without payload is never merged. But in a run of pure ACKs of one
// connection, each acknowledging more than the one before, an ACK between
// the first and the last says nothing the next one does not:
// acknowledgements are cumulative, and the next one carries the current
// window and timestamp. So the endpoint holds the last pure ACK back, and
// when the next packet, in the same receive batch, is a pure ACK of the
// same connection that acknowledges more, the held one is dropped (counted
// in rx_acks_coalesced) if it too acknowledged more than the packet before
// it. Anything else first releases the held ACK, so packets keep their
// order; the batch end releases it too.
//
// What could carry information is never dropped. A duplicate ACK (same
// acknowledgement number as the ACK before it: fast retransmit counts
// them, RFC 5681) or a window update (the same, with another window)
// acknowledges no more than its predecessor, so it stays, and so does the
// first ACK after any other packet, which may repeat that packet's
// acknowledgement: [A100, A100, A200] comes up whole, [A100, A200, A300]
// as [A100, A300]. Linux's GRO likewise never merges a segment without
// payload. ACKs with SACK blocks or any option but timestamps, any flag
// besides ACK (ECE, PSH, FIN, ...), payload, and anything not verified and
// checked (parseRxHeaders) stay too. Congestion control loses nothing: the
// dropped ACK was neither a duplicate nor followed by one, and gVisor's TCP
// grows the window by the bytes an ACK covers, not by the number of ACKs.
// FreeBSD's LRO compresses pure ACKs the same way.

// pureACK is what decides whether a pure ACK makes an earlier one redundant.
type pureACK struct {
	// flow is the source and destination addresses and ports as they
	// appear in the headers; flowLen how much of it is used.
	flow    [2*header.IPv6AddressSize + 4]byte
	flowLen int
	seq     uint32
	ack     uint32
	hasTS   bool
	tsVal   uint32
	// advances is whether it superseded the packet before it (a pure ACK
	// of the same connection acknowledging less), so that it is no
	// duplicate and may be dropped.
	advances bool
}

// supersedes reports whether a, arriving after b, makes b redundant.
func (a *pureACK) supersedes(b *pureACK) bool {
	return a.flowLen == b.flowLen && a.flow == b.flow &&
		a.seq == b.seq && int32(a.ack-b.ack) > 0 &&
		a.hasTS == b.hasTS && (!a.hasTS || int32(a.tsVal-b.tsVal) >= 0)
}

// parsePureACK reports whether seg is a pure ACK that coalescing may drop:
// flags ACK only (no AE or reserved bit either), no payload, options only
// padding and timestamps. It fills a's fields but advances.
func parsePureACK(seg *checkedSegment, a *pureACK) bool {
	tcp := seg.tcp
	if seg.ip == nil || seg.payload != 0 || tcp.Flags() != header.TCPFlagAck ||
		tcp[header.TCPDataOffset]&0x0F != 0 || !parseACKOptions(tcp.Options(), a) {
		return false
	}
	var src, dst tcpip.Address
	if seg.ipLen == header.IPv4MinimumSize {
		ip := header.IPv4(seg.ip)
		src, dst = ip.SourceAddress(), ip.DestinationAddress()
	} else {
		ip := header.IPv6(seg.ip)
		src, dst = ip.SourceAddress(), ip.DestinationAddress()
	}
	n := copy(a.flow[:], src.AsSlice())
	n += copy(a.flow[n:], dst.AsSlice())
	n += copy(a.flow[n:], tcp[:4]) // both ports
	a.flowLen = n
	a.seq, a.ack = tcp.SequenceNumber(), tcp.AckNumber()
	return true
}

// parseACKOptions accepts options made only of padding and at most one
// timestamp, which it records in a.
func parseACKOptions(opts []byte, a *pureACK) bool {
	a.hasTS = false
	for i := 0; i < len(opts); {
		switch opts[i] {
		case header.TCPOptionEOL:
			return true
		case header.TCPOptionNOP:
			i++
		case header.TCPOptionTS:
			if a.hasTS || i+header.TCPOptionTSLength > len(opts) || opts[i+1] != header.TCPOptionTSLength {
				return false
			}
			a.hasTS = true
			a.tsVal = uint32(opts[i+2])<<24 | uint32(opts[i+3])<<16 | uint32(opts[i+4])<<8 | uint32(opts[i+5])
			i += header.TCPOptionTSLength
		default:
			return false
		}
	}
	return true
}

// ackHolder is the one pure ACK held back within a receive batch, and
// what the packet before the next one was.
type ackHolder struct {
	pkt  *stack.PacketBuffer // nil when none is held
	held pureACK
	// last is the previous packet, if it was a pure ACK (lastIsACK),
	// whether it is held, dropped or delivered, in this batch or an
	// earlier one.
	last      pureACK
	lastIsACK bool
}

// holdACK sees every packet first when coalescing is on; seg is the
// packet's checked TCP segment (zero if it has none or is not verified).
// If the packet is a pure ACK it keeps it (taking a reference), dropping
// the held one if that advanced and the new one supersedes it, and reports
// true. Otherwise, or when the held ACK is not dropped, the held ACK is
// released first, so packets keep their order. A packet it keeps goes up
// after everything before it: the GRO engine is flushed, and stays empty
// while an ACK is held, since any packet but a pure ACK releases it.
func (g *groEndpoint) holdACK(pkt *stack.PacketBuffer, seg *checkedSegment) bool {
	h := &g.acks
	var a pureACK
	isACK := parsePureACK(seg, &a)
	if isACK {
		a.advances = h.lastIsACK && a.supersedes(&h.last)
		if h.pkt != nil && h.held.advances && a.supersedes(&h.held) {
			h.pkt.DecRef()
			h.pkt = nil
			g.c.rxACKsCoalesced.Add(1)
		}
	}
	h.last, h.lastIsACK = a, isACK
	g.releaseACK()
	if !isACK {
		return false
	}
	g.flushEngine()
	h.pkt = pkt.IncRef()
	h.held = a
	return true
}

// releaseACK delivers the held pure ACK, if any. The GRO engine holds
// nothing then (see holdACK), so it goes up after everything before it.
func (g *groEndpoint) releaseACK() {
	if pkt := g.acks.pkt; pkt != nil {
		g.acks.pkt = nil
		(*groDeliverer)(g).DeliverNetworkPacket(pkt.NetworkProtocolNumber, pkt)
		pkt.DecRef()
	}
}
