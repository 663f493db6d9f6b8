package netif

import (
	"bytes"
	"encoding/binary"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// capsRecorder plays the NIC above a groEndpoint: for every packet it notes
// what the NIC would copy into pkt.RXChecksumValidated, the endpoint's
// RX-checksum capability at that moment, the packet's size and its bytes
// (IP header on).
type capsRecorder struct {
	g        *groEndpoint
	verified []bool
	sizes    []int
	got      [][]byte
}

func (r *capsRecorder) DeliverNetworkPacket(_ tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	r.verified = append(r.verified, r.g.Capabilities()&stack.CapabilityRXChecksumOffload != 0)
	r.sizes = append(r.sizes, pkt.Data().Size())
	r.got = append(r.got, pkt.Data().AsRange().ToSlice())
}
func (*capsRecorder) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}

// newGROTestbed is an endpoint over a sinkDriver (whose rx upcall the test
// calls), ethernet, and GRO with a capsRecorder as the NIC.
func newGROTestbed() (*sinkDriver, *Endpoint, *groEndpoint, *capsRecorder) {
	d := &sinkDriver{}
	ep := NewEndpoint(d)
	ep.verifyTCP.Store(true)
	g := newGROEndpoint(ethernet.New(ep), ep, true)
	rec := &capsRecorder{g: g}
	g.Attach(rec)
	return d, ep, g, rec
}

// ipv4Frame builds an Ethernet/IPv4 frame around l4 (protocol proto) with a
// correct header checksum and, for TCP, a correct TCP checksum.
func ipv4Frame(proto uint8, l4 []byte) []byte { return ipv4FrameOpts(proto, nil, l4) }

// ipv4FrameOpts is ipv4Frame with IP options opts (a multiple of 4 bytes).
func ipv4FrameOpts(proto uint8, opts, l4 []byte) []byte {
	hlen := header.IPv4MinimumSize + len(opts)
	f := make([]byte, header.EthernetMinimumSize+hlen+len(l4))
	header.Ethernet(f).Encode(&header.EthernetFields{Type: header.IPv4ProtocolNumber})
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(ip)), TTL: 64, Protocol: proto,
		SrcAddr: tcpip.AddrFrom4([4]byte{10, 0, 2, 2}), DstAddr: tcpip.AddrFrom4([4]byte{10, 0, 2, 15}),
	})
	ip.SetHeaderLength(uint8(hlen))
	copy(ip[header.IPv4MinimumSize:], opts)
	ip.SetChecksum(^ip.CalculateChecksum())
	copy(ip[hlen:], l4)
	if proto == uint8(header.TCPProtocolNumber) {
		seg := header.TCP(ip[hlen:])
		seg.SetChecksum(0)
		ps := header.PseudoHeaderChecksum(header.TCPProtocolNumber, ip.SourceAddress(), ip.DestinationAddress(), uint16(len(seg)))
		seg.SetChecksum(^checksum.Checksum(seg, ps))
	}
	return f
}

// tcpSegment is a TCP header (ACK, no options) at seq plus n payload bytes.
func tcpSegment(seq uint32, n int) []byte {
	s := make([]byte, header.TCPMinimumSize+n)
	header.TCP(s).Encode(&header.TCPFields{SrcPort: 80, DstPort: 4000, SeqNum: seq, AckNum: 1,
		DataOffset: header.TCPMinimumSize, Flags: header.TCPFlagAck, WindowSize: 1000})
	for i := range n {
		s[header.TCPMinimumSize+i] = byte(seq) + byte(i)
	}
	return s
}

// dataSegment is a TCP segment at seq with n bytes of payload (as
// tcpSegment's) acknowledging ack, with a timestamp option (tsVal, tsEcr)
// if tsVal is not 0.
func dataSegment(seq uint32, n int, ack, tsVal, tsEcr uint32) []byte {
	s := ackSegment(seq, ack, tsVal, nil)
	if tsVal != 0 {
		binary.BigEndian.PutUint32(s[len(s)-4:], tsEcr)
	}
	for i := range n {
		s = append(s, byte(seq)+byte(i))
	}
	return s
}

// TestGROVerifiedPacketsOnly feeds an endpoint with GRO three in-order TCP
// segments, one damaged TCP segment, and a UDP datagram, and checks what
// the NIC would see: the good segments merged into one packet delivered with
// the RX-checksum capability set, before the damaged one that followed them
// (so a connection's packets keep their order); the damaged one and the UDP
// datagram delivered on their own with it clear; and the capability clear
// again afterwards, for every later reader.
func TestGROVerifiedPacketsOnly(t *testing.T) {
	d, ep, g, rec := newGROTestbed()

	bad := ipv4Frame(6, tcpSegment(3000, 1000))
	bad[len(bad)-1] ^= 0x40
	udp := ipv4Frame(17, []byte{0, 7, 0, 7, 0, 12, 0, 0, 'h', 'i', '!', '!'}) // checksum 0: none
	frames := [][]byte{
		ipv4Frame(6, tcpSegment(0, 1000)),
		ipv4Frame(6, tcpSegment(1000, 1000)),
		ipv4Frame(6, tcpSegment(2000, 1000)),
		bad,
		udp,
	}
	for _, f := range frames {
		d.rx(bytes.Clone(f), false)
	}
	g.Flush()

	wantVerified := []bool{true, false, false} // the merged three, the damaged segment, UDP
	wantSizes := []int{20 + 20 + 3000, 20 + 20 + 1000, 20 + 12}
	if len(rec.verified) != 3 || !equal(rec.verified, wantVerified) || !equal(rec.sizes, wantSizes) {
		t.Errorf("NIC saw verified %v sizes %v; want %v %v", rec.verified, rec.sizes, wantVerified, wantSizes)
	}
	if g.Capabilities()&stack.CapabilityRXChecksumOffload != 0 {
		t.Error("RX checksum capability left set after delivery")
	}
	if c := ep.Counters(); c.RxGROIn != 5 || c.RxGROOut != 3 || c.RxVerified != 1 {
		t.Errorf("counters %+v", c)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTCPChecksumsValid checks netif's own verification on what GRO merges
// and what it must leave alone.
func TestTCPChecksumsValid(t *testing.T) {
	good := ipv4Frame(6, tcpSegment(7, 100))
	padded := append(bytes.Clone(ipv4Frame(6, tcpSegment(7, 0))), 0, 0, 0, 0, 0, 0) // Ethernet padding
	badIP := bytes.Clone(good)
	badIP[14+8]--
	badTCP := bytes.Clone(good)
	badTCP[len(badTCP)-1]++
	frag := bytes.Clone(good)
	binary.BigEndian.PutUint16(frag[14+6:], 0x2000) // MF
	header.IPv4(frag[14:]).SetChecksum(0)
	header.IPv4(frag[14:]).SetChecksum(^header.IPv4(frag[14:]).CalculateChecksum())
	for _, c := range []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"good segment", good, true},
		{"padded short frame", padded, true},
		{"bad IP header checksum", badIP, false},
		{"bad TCP checksum", badTCP, false},
		{"IP fragment", frag, false},
		{"UDP", ipv4Frame(17, make([]byte, 8)), false},
		{"truncated", good[:40], false},
		{"runt", good[:10], false},
	} {
		if got := parseRxHeaders(c.frame).tcpChecksumsValid(c.frame); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestGROBypassUnverified shows why unverified segments must not reach
// gVisor's GRO engine: it checks TCP checksums over the wrong range (14 bytes
// early), so a damaged segment whose damage cancels those 14 bytes passes
// its check and would be merged into the good ones and delivered as
// verified. Here the fourth segment is damaged exactly so; it must come up
// on its own, unverified, for the stack to drop.
func TestGROBypassUnverified(t *testing.T) {
	d, _, g, rec := newGROTestbed()

	seg := func(seq uint32) []byte {
		s := tcpSegment(seq, 1000)
		opts := []byte{1, 1, 8, 10, 0x12, 0x34, 0x56, 0x78, 0x0A, 0xBC, 0xDE, 0xF0} // NOP NOP timestamps
		s = append(append(s[:20:20], opts...), s[20:]...)
		s[12] = 32 / 4 << 4
		return ipv4Frame(6, s)
	}
	bad := seg(3000)
	// The engine sums from frame[52:] instead of frame[66:]: the extra
	// bytes are TCP header bytes 18-31. Damage a payload word by the
	// negation of their sum, so the wrong sum comes out right.
	neg := ^checksum.Checksum(bad[52:66], 0)
	w := binary.BigEndian.Uint16(bad[100:])
	binary.BigEndian.PutUint16(bad[100:], checksum.Checksum([]byte{byte(neg >> 8), byte(neg), byte(w >> 8), byte(w)}, 0))
	if parseRxHeaders(bad).tcpChecksumsValid(bad) {
		t.Fatal("the damaged segment verifies: the test is wrong")
	}
	for _, f := range [][]byte{seg(0), seg(1000), seg(2000), bad} {
		d.rx(f, false)
	}
	g.Flush()
	if !equal(rec.verified, []bool{true, false}) || !equal(rec.sizes, []int{20 + 32 + 3000, 20 + 32 + 1000}) {
		t.Errorf("NIC saw verified %v sizes %v; want the three good ones merged, then the damaged segment alone, unverified",
			rec.verified, rec.sizes)
	}
}

// TestGROTrimsPadding: a TCP segment too short for a minimum Ethernet frame
// arrives padded. gVisor's GRO engine takes the packet's length for the
// segment's (it has no check of the IP length against it, unlike Linux's
// inet_gro_receive), so merging the padded frame would append the padding
// to the stream. netif trims frames to their IP length first.
func TestGROTrimsPadding(t *testing.T) {
	d, _, g, rec := newGROTestbed()
	tiny := ipv4Frame(6, tcpSegment(1000, 3))
	padded := append(bytes.Clone(tiny), make([]byte, 60-len(tiny))...)
	d.rx(ipv4Frame(6, tcpSegment(0, 1000)), false)
	d.rx(padded, false)
	g.Flush()
	if !equal(rec.sizes, []int{20 + 20 + 1003}) || !equal(rec.verified, []bool{true}) {
		t.Errorf("NIC saw sizes %v verified %v; want one packet of %d bytes", rec.sizes, rec.verified, 20+20+1003)
	}
}

// TestGROFlushDeliversAll: the end of a receive batch delivers every
// segment GRO holds. Two connections whose ports differ by 8 share a
// bucket of gVisor's engine, whose Flush, at the pinned version, delivers
// only the first packet of each bucket (google/gvisor#14081): the second
// connection's segment would wait for a later batch, or for the peer's
// retransmission when none comes.
func TestGROFlushDeliversAll(t *testing.T) {
	d, ep, g, rec := newGROTestbed()
	for _, port := range []uint16{80, 88, 96} {
		s := tcpSegment(0, 1000)
		header.TCP(s).SetSourcePort(port)
		d.rx(ipv4Frame(6, s), false)
	}
	g.Flush()
	if len(rec.got) != 3 {
		t.Errorf("stack got %d packets, want the 3 segments", len(rec.got))
	}
	checkRxCounters(t, ep.Counters(), len(rec.got), 0)
}
