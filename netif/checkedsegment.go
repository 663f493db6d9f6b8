package netif

import (
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// rxHeaders is what the receive path needs to know of a frame's IP and TCP
// headers, found by parseRxHeaders in one pass over the received frame: the
// endpoint trims and verifies the frame with it, and GRO and ACK
// coalescing take the segment it describes (receivedSegment) without
// looking at the headers again.
type rxHeaders struct {
	// ipEnd is the length of the frame up to the end of the IPv4 or IPv6
	// packet it carries, leaving out the padding of a short Ethernet
	// frame, or all of it when it carries neither or the IP header is not
	// valid (version, header length, or an IP length the frame does not
	// hold): such a frame goes up as it came, for the stack to judge.
	ipEnd int
	// ipLen is the IP header's length if the packet is a TCP segment of
	// the shape GRO merges: IPv4 without options and not a fragment, or
	// IPv6 with TCP as the next header (no extension headers); else 0.
	ipLen int
	// tcpLen is the TCP header's length (options included) if ipLen is
	// set and the packet holds a whole TCP header; else 0.
	tcpLen int
}

// parseRxHeaders reads frame's Ethernet, IP and TCP headers (see rxHeaders).
func parseRxHeaders(frame []byte) rxHeaders {
	h := rxHeaders{ipEnd: len(frame)}
	if len(frame) < header.EthernetMinimumSize {
		return h
	}
	l3 := frame[header.EthernetMinimumSize:]
	switch header.Ethernet(frame).Type() {
	case header.IPv4ProtocolNumber:
		ip := header.IPv4(l3)
		if !ip.IsValid(len(l3)) {
			return h
		}
		h.ipEnd = header.EthernetMinimumSize + int(ip.TotalLength())
		if ip.HeaderLength() == header.IPv4MinimumSize && ip.TransportProtocol() == header.TCPProtocolNumber &&
			ip.FragmentOffset() == 0 && ip.Flags()&header.IPv4FlagMoreFragments == 0 {
			h.ipLen = header.IPv4MinimumSize
		}
	case header.IPv6ProtocolNumber:
		ip := header.IPv6(l3)
		if !ip.IsValid(len(l3)) {
			return h
		}
		h.ipEnd = header.EthernetMinimumSize + header.IPv6MinimumSize + int(ip.PayloadLength())
		if ip.NextHeader() == uint8(header.TCPProtocolNumber) {
			h.ipLen = header.IPv6MinimumSize
		}
	}
	if h.ipLen == 0 {
		return h
	}
	tcp := header.TCP(frame[header.EthernetMinimumSize+h.ipLen : h.ipEnd])
	if len(tcp) >= header.TCPMinimumSize {
		if off := int(tcp.DataOffset()); off >= header.TCPMinimumSize && off <= len(tcp) {
			h.tcpLen = off
		}
	}
	return h
}

// tcpChecksumsValid reports whether frame, whose headers h describes,
// carries a TCP segment GRO merges (see rxHeaders.ipLen) whose IP header
// (IPv4) and TCP checksums verify. Anything else is left to the stack.
func (h rxHeaders) tcpChecksumsValid(frame []byte) bool {
	if h.ipLen == 0 {
		return false
	}
	l3 := frame[header.EthernetMinimumSize:h.ipEnd]
	var src, dst tcpip.Address
	if h.ipLen == header.IPv4MinimumSize {
		ip := header.IPv4(l3)
		if !ip.IsChecksumValid() {
			return false
		}
		src, dst = ip.SourceAddress(), ip.DestinationAddress()
	} else {
		ip := header.IPv6(l3)
		src, dst = ip.SourceAddress(), ip.DestinationAddress()
	}
	seg := l3[h.ipLen:]
	if len(seg) < header.TCPMinimumSize {
		return false
	}
	ps := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, uint16(len(seg)))
	return checksum.Checksum(seg, ps) == 0xFFFF
}

// checkedSegment is a received TCP segment whose headers netif has checked
// (parseRxHeaders), so that GRO and ACK coalescing can read them where
// they expect them.
type checkedSegment struct {
	// ip is the packet, IP header first: ipLen bytes of IP header, then
	// the TCP header tcp (options included), then payload bytes. ip is
	// nil when the packet is not such a segment.
	ip      []byte
	ipLen   int
	tcp     header.TCP
	payload int
}

// receivedSegment is the frame the endpoint is delivering: its packet and
// what parseRxHeaders found in it, if the packet is verified. The receive
// upcall sets it around the delivery, which runs GRO on the same goroutine,
// so GRO finds a packet's headers already checked.
type receivedSegment struct {
	pkt  *stack.PacketBuffer
	hdrs rxHeaders
	// coalesced is whether pkt is a held packet of the coalescer, which
	// skips GRO.
	coalesced bool
}

// segmentOf returns pkt's TCP segment if pkt (IP header first, trimmed to
// its IP length) is the verified packet the endpoint is delivering and one
// that GRO and ACK coalescing take: IPv4 without options and not a
// fragment, or IPv6 with TCP as the next header (no extension headers),
// every length agreeing with the packet's size, and a whole TCP header.
// Otherwise it returns the zero checkedSegment.
//
// A checksum verdict does not vouch for any of this: a device also verifies
// UDP, and IPv4 with options (an 82540EM does), so a frame marked verified
// may be anything.
func (e *Endpoint) segmentOf(pkt *stack.PacketBuffer) checkedSegment {
	r := e.rxSeg
	size := pkt.Data().Size()
	if r.pkt != pkt || r.hdrs.tcpLen == 0 || size != r.hdrs.ipEnd-header.EthernetMinimumSize {
		return checkedSegment{}
	}
	b, ok := pkt.Data().PullUp(size)
	if !ok {
		return checkedSegment{}
	}
	ipLen, tcpLen := r.hdrs.ipLen, r.hdrs.tcpLen
	return checkedSegment{ip: b, ipLen: ipLen, tcp: header.TCP(b[ipLen : ipLen+tcpLen]), payload: len(b) - ipLen - tcpLen}
}
