package netif

import (
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// checkedSegment is a received TCP segment whose headers netif has checked
// (checkSegment), so that GRO and ACK coalescing can read them where
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

// checkSegment returns pkt's TCP segment if pkt (IP header first,
// protocol pkt.NetworkProtocolNumber, trimmed to its IP length) is one that
// GRO and ACK coalescing take: IPv4 without options and not a fragment, or
// IPv6 with TCP as the next header (no extension headers), every length
// agreeing with the packet's size, and a whole TCP header. Otherwise it
// returns the zero checkedSegment.
//
// A checksum verdict does not vouch for any of this: a device also verifies
// UDP, and IPv4 with options (an 82540EM does), so a frame marked verified
// may be anything.
func checkSegment(pkt *stack.PacketBuffer) checkedSegment {
	size := pkt.Data().Size()
	b, ok := pkt.Data().PullUp(size)
	if !ok {
		return checkedSegment{}
	}
	var ipLen int
	switch pkt.NetworkProtocolNumber {
	case header.IPv4ProtocolNumber:
		ip := header.IPv4(b)
		if !ip.IsValid(size) || int(ip.TotalLength()) != size || ip.HeaderLength() != header.IPv4MinimumSize ||
			ip.TransportProtocol() != header.TCPProtocolNumber ||
			ip.FragmentOffset() != 0 || ip.Flags()&header.IPv4FlagMoreFragments != 0 {
			return checkedSegment{}
		}
		ipLen = header.IPv4MinimumSize
	case header.IPv6ProtocolNumber:
		ip := header.IPv6(b)
		if !ip.IsValid(size) || header.IPv6MinimumSize+int(ip.PayloadLength()) != size ||
			ip.NextHeader() != uint8(header.TCPProtocolNumber) {
			return checkedSegment{}
		}
		ipLen = header.IPv6MinimumSize
	default:
		return checkedSegment{}
	}
	tcp := header.TCP(b[ipLen:])
	if len(tcp) < header.TCPMinimumSize {
		return checkedSegment{}
	}
	off := int(tcp.DataOffset())
	if off < header.TCPMinimumSize || off > len(tcp) {
		return checkedSegment{}
	}
	return checkedSegment{ip: b, ipLen: ipLen, tcp: tcp[:off], payload: len(tcp) - off}
}
