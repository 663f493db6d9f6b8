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
// without payload is never merged. But within one receive batch a pure ACK
// followed by a later one of the same connection says nothing the later one
// does not: acknowledgements are cumulative, and the later one carries the
// current window and timestamp. So the endpoint holds the last pure ACK of
// the batch back, and when the next packet is a pure ACK of the same
// connection that moves the acknowledgement forward, the held one is
// dropped (counted in rx_acks_coalesced). Anything else first releases the
// held ACK, so packets keep their order; the batch end releases it too.
//
// What could carry information is never dropped: duplicate ACKs (same
// acknowledgement number: fast retransmit counts them, and window updates
// look the same), ACKs with SACK blocks or any option but timestamps, any
// flag besides ACK (ECE, PSH, FIN, ...), payload, and anything not verified.
// Congestion control loses nothing either: gVisor's TCP grows the window by
// the bytes an ACK covers, not by the number of ACKs. FreeBSD's LRO
// compresses pure ACKs the same way.

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
}

// supersedes reports whether a, arriving after b, makes b redundant.
func (a *pureACK) supersedes(b *pureACK) bool {
	return a.flowLen == b.flowLen && a.flow == b.flow &&
		a.seq == b.seq && int32(a.ack-b.ack) > 0 &&
		a.hasTS == b.hasTS && (!a.hasTS || int32(a.tsVal-b.tsVal) >= 0)
}

// parsePureACK reports whether pkt, a verified packet starting at its IP
// header and trimmed to the IP length, is a pure ACK that coalescing may
// drop, and fills a.
func parsePureACK(pkt *stack.PacketBuffer, a *pureACK) bool {
	var ipLen int
	size := pkt.Data().Size()
	switch pkt.NetworkProtocolNumber {
	case header.IPv4ProtocolNumber:
		ipLen = header.IPv4MinimumSize
	case header.IPv6ProtocolNumber:
		ipLen = header.IPv6MinimumSize
	default:
		return false
	}
	// Verified packets have no IPv4 options or IPv6 extension headers and
	// carry TCP (tcpChecksumsValid), so the segment follows at ipLen.
	if size < ipLen+header.TCPMinimumSize || size > ipLen+header.TCPHeaderMaximumSize {
		return false // no room for a TCP header, or room for payload
	}
	b, ok := pkt.Data().PullUp(size)
	if !ok {
		return false
	}
	tcp := header.TCP(b[ipLen:])
	if tcp.Flags() != header.TCPFlagAck || int(tcp.DataOffset()) != size-ipLen || !parseACKOptions(tcp.Options(), a) {
		return false
	}
	var src, dst tcpip.Address
	if ipLen == header.IPv4MinimumSize {
		ip := header.IPv4(b)
		src, dst = ip.SourceAddress(), ip.DestinationAddress()
	} else {
		ip := header.IPv6(b)
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

// ackHolder is the one pure ACK held back within a receive batch.
type ackHolder struct {
	pkt  *stack.PacketBuffer // nil when none is held
	held pureACK
	// next is parse space for the incoming packet, swapped with held
	// when that packet is kept.
	next pureACK
}

// holdACK considers a verified packet. If it is a pure ACK it keeps it
// (taking a reference), dropping the held one if the new one supersedes
// it, and reports true. Otherwise, or when the held ACK is not superseded,
// the held ACK is released first, so packets keep their order.
func (g *groEndpoint) holdACK(pkt *stack.PacketBuffer) bool {
	h := &g.acks
	isACK := parsePureACK(pkt, &h.next)
	if isACK && h.pkt != nil && h.next.supersedes(&h.held) {
		h.pkt.DecRef()
		h.pkt = nil
		g.c.rxACKsCoalesced.Add(1)
	}
	g.releaseACK()
	if !isACK {
		return false
	}
	h.pkt = pkt.IncRef()
	h.held, h.next = h.next, h.held
	return true
}

// releaseACK hands the held pure ACK, if any, to the engine, which delivers
// it after what it holds of the same connection.
func (g *groEndpoint) releaseACK() {
	if pkt := g.acks.pkt; pkt != nil {
		g.acks.pkt = nil
		g.engine.Enqueue(pkt)
		pkt.DecRef()
	}
}
