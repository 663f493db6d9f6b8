package netif

import (
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"tamanet/txframe"
)

// segment is software GSO, for a host-GSO TCP packet the device cannot
// segment itself: it cuts pkt (size bytes, headers o describes) into
// MSS-byte segments, as TSO would, and queues them as frames that ask the
// device only for the TCP checksum. Each segment is a copy of the headers,
// written to e.hdrs with the IP length, IPv4 identification and header
// checksum, TCP sequence number and flags (FIN and PSH on the last segment
// only) and the pseudo-header sum for its length, followed by its slice of
// the packet's payload views, not copied. flush is called whenever the
// batch is full.
func (e *Endpoint) segment(pkt *stack.PacketBuffer, size int, o txframe.Offload, flush func()) {
	l3, l4 := int(o.L3Start), int(o.L4Start)
	tcpLen := len(pkt.TransportHeader().Slice())
	hdrLen := l4 + tcpLen
	mss := int(pkt.GSOOptions.MSS)
	payload := size - hdrLen
	e.c.txSoftGSO.Add(1)

	for i, off := 0, 0; off < payload; i, off = i+1, off+mss {
		n := min(mss, payload-off)
		h := e.segmentHeader(pkt, hdrLen)
		ip := h[l3:l4]
		var src, dst = header.IPv4(ip).SourceAddress(), header.IPv4(ip).DestinationAddress()
		if o.IPv6 {
			v6 := header.IPv6(ip)
			v6.SetPayloadLength(uint16(len(ip) - header.IPv6MinimumSize + tcpLen + n))
			src, dst = v6.SourceAddress(), v6.DestinationAddress()
		} else {
			v4 := header.IPv4(ip)
			v4.SetTotalLength(uint16(len(ip) + tcpLen + n))
			v4.SetID(v4.ID() + uint16(i))
			v4.SetChecksum(0)
			v4.SetChecksum(^v4.CalculateChecksum())
		}
		tcp := header.TCP(h[l4:])
		tcp.SetSequenceNumber(tcp.SequenceNumber() + uint32(off))
		if off+n < payload {
			tcp.SetFlags(uint8(tcp.Flags() &^ (header.TCPFlagFin | header.TCPFlagPsh)))
		}
		tcp.SetChecksum(header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, uint16(tcpLen+n)))

		start := len(e.parts)
		e.parts = append(e.parts, h)
		e.appendBytes(pkt, hdrLen+off, hdrLen+off+n)
		e.frames = append(e.frames, txframe.Frame{Parts: e.parts[start:], Offload: o})
		e.c.txSoftSegments.Add(1)
		if off+n == payload {
			e.pktLast = append(e.pktLast, len(e.frames)-1)
		}
		if len(e.frames) >= txBatch {
			flush()
		}
	}
}

// segmentHeader copies the packet's first hdrLen bytes (its link, network
// and transport headers) to the end of e.hdrs and returns the copy.
func (e *Endpoint) segmentHeader(pkt *stack.PacketBuffer, hdrLen int) []byte {
	start := len(e.hdrs)
	for _, v := range [][]byte{pkt.LinkHeader().Slice(), pkt.NetworkHeader().Slice(), pkt.TransportHeader().Slice()} {
		e.hdrs = append(e.hdrs, v...)
	}
	return e.hdrs[start : start+hdrLen : start+hdrLen]
}
