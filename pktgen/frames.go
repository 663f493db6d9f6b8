package pktgen

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"tamanet/inet"
	"tamanet/txframe"
)

// Flow is the addressing of the generated frames.
type Flow struct {
	// EthDst is the destination (the host's tap; broadcast if zero);
	// EthSrc is the NIC's own address.
	EthDst, EthSrc [6]byte
	// IPSrc and IPDst are IPv4 addresses.
	IPSrc, IPDst netip.Addr
}

// Frame layout: Ethernet, IPv4 without options, then UDP, or TCP with the
// timestamp option as Linux sends it (so MSS is the MTU less 52 bytes,
// 1448 at 1500).
const (
	ethLen     = 14
	ipv4Len    = 20
	udpLen     = 8
	tcpLen     = 32
	udpHdrs    = ethLen + ipv4Len + udpLen
	tcpHdrs    = ethLen + ipv4Len + tcpLen
	maxIPv4Len = 0xFFFF

	protoTCP = 6
	protoUDP = 17
	// discardPort is RFC 863's: the host side throws the frames away.
	discardPort = 9
)

// Sizes: the smallest Ethernet frame without FCS, and the defaults.
const (
	MinFrameSize = 60
	// DefaultFrameSize is a full frame at MTU 1500.
	DefaultFrameSize = 1514
	// DefaultTSOPayload is 44 segments of MSS 1448 (MTU 1500) and a
	// shorter 45th. Not a whole number of segments: after a payload that
	// is one, QEMU's e1000 sends a header-only segment more (it transmits
	// what is left at EOP unless that is shorter than the headers), which
	// its GPTC and the tap count but no stack meant to send.
	DefaultTSOPayload = 44*1448 + 1288
	// MaxTSOPayload is the most TCP payload one IPv4 packet carries.
	MaxTSOPayload = maxIPv4Len - ipv4Len - tcpLen
)

// UDPFrame returns a frame of size bytes (udpHdrs to the largest IPv4
// packet; the caller checks): an IPv4 UDP datagram from and to the discard
// port with both checksums filled in. The host's sink writer sends the same
// frames the generator does.
func UDPFrame(f Flow, size int) []byte {
	b, ip, udp := packet(f, size, udpHdrs, protoUDP)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	sum := ^inet.Fold(inet.Sum(pseudoHeader(ip, len(udp)), udp))
	if sum == 0 {
		sum = 0xFFFF // zero means "no checksum" in UDP over IPv4
	}
	binary.BigEndian.PutUint16(udp[txframe.UDPChecksumOffset:], sum)
	return b
}

// tcpSuperFrame returns one TCP packet (ACK|PSH) with payload bytes of
// data, and the offload request that has the device cut it into mss-byte
// segments. As txframe asks, its checksum field holds the pseudo-header
// sum, length included.
func tcpSuperFrame(f Flow, payload, mss int) txframe.Frame {
	b, ip, tcp := packet(f, tcpHdrs+payload, tcpHdrs, protoTCP)
	tcp[12] = tcpLen / 4 << 4
	tcp[13] = 0x18 // ACK|PSH
	binary.BigEndian.PutUint16(tcp[14:], 0xFFFF)
	// NOP, NOP, timestamps (kind 8, length 10): Linux's option block.
	copy(tcp[20:], []byte{1, 1, 8, 10})
	binary.BigEndian.PutUint32(tcp[24:], 1)
	binary.BigEndian.PutUint16(tcp[txframe.TCPChecksumOffset:], inet.Fold(pseudoHeader(ip, len(tcp))))
	return txframe.Frame{Parts: [][]byte{b}, Offload: txframe.Offload{
		L4: txframe.L4TCP, L3Start: ethLen, L4Start: ethLen + ipv4Len,
		MSS: uint16(mss), HeaderLen: tcpHdrs,
	}}
}

// packet returns a frame of size bytes with its Ethernet and IPv4
// headers filled in, both transport ports the discard port and the
// payload after hdrs bytes of headers a counting pattern; ip and l4 are
// its IP packet and transport segment.
func packet(f Flow, size, hdrs int, proto byte) (b, ip, l4 []byte) {
	b = make([]byte, size)
	for i := hdrs; i < size; i++ {
		b[i] = byte(i)
	}
	ip = ethernet(b, f)
	ipv4(ip, f, size-ethLen, proto)
	l4 = ip[ipv4Len:]
	binary.BigEndian.PutUint16(l4[0:], discardPort)
	binary.BigEndian.PutUint16(l4[2:], discardPort)
	return b, ip, l4
}

// ethernet fills the Ethernet header and returns what follows it.
func ethernet(b []byte, f Flow) []byte {
	dst := f.EthDst
	if dst == ([6]byte{}) {
		dst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	copy(b[0:], dst[:])
	copy(b[6:], f.EthSrc[:])
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	return b[ethLen:]
}

// ipv4 fills an IPv4 header of a packet of total bytes, checksum included.
func ipv4(ip []byte, f Flow, total int, proto byte) {
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8] = 64
	ip[9] = proto
	src, dst := f.IPSrc.As4(), f.IPDst.As4()
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ^inet.Fold(inet.Sum(0, ip[:ipv4Len])))
}

// pseudoHeader is the one's complement sum of the IPv4 pseudo-header of
// a transport segment of n bytes.
func pseudoHeader(ip []byte, n int) uint32 {
	return inet.Sum(0, ip[12:20]) + uint32(ip[9]) + uint32(n)
}

// txPlan is what one transmit run sends: batch repeats its frame.
type txPlan struct {
	mode  Mode
	size  int // tx: the frame's length; tso: its TCP payload
	batch []txframe.Frame
	// frameBytes is one frame's length as the driver takes it;
	// wireFrames and wireBytes what it becomes on the wire.
	frameBytes, wireFrames, wireBytes int
}

// batchLen is how many frames one Transmit call is offered: enough that a
// call fills a ring.
const batchLen = 64

// plan validates spec against the driver and prepares the frames.
func (g *Gen) plan(spec TxSpec) (txPlan, error) {
	if !spec.Flow.IPSrc.Is4() || !spec.Flow.IPDst.Is4() {
		return txPlan{}, fmt.Errorf("pktgen: IPv4 addresses wanted, have %v -> %v", spec.Flow.IPSrc, spec.Flow.IPDst)
	}
	mtu := g.d.MTU()
	p := txPlan{mode: spec.Mode, size: spec.Size}
	var frame txframe.Frame
	switch spec.Mode {
	case ModeTx:
		if p.size == 0 {
			p.size = min(DefaultFrameSize, mtu+ethLen)
		}
		if p.size < MinFrameSize || p.size > mtu+ethLen {
			return txPlan{}, fmt.Errorf("pktgen: frame size %d outside [%d, %d] (MTU %d)", p.size, MinFrameSize, mtu+ethLen, mtu)
		}
		frame = txframe.Frame{Parts: [][]byte{UDPFrame(spec.Flow, p.size)}}
		p.frameBytes, p.wireFrames, p.wireBytes = p.size, 1, p.size
	case ModeTSO:
		caps := g.d.TxCapabilities()
		if !caps.Features.Has(txframe.TSOv4) {
			return txPlan{}, fmt.Errorf("pktgen: the driver offers no TSO for IPv4")
		}
		mss := mtu - ipv4Len - tcpLen
		limit := min(caps.TSOMaxSize-tcpHdrs, MaxTSOPayload)
		if p.size == 0 {
			p.size = min(DefaultTSOPayload, limit)
			if p.size%mss == 0 {
				p.size-- // see DefaultTSOPayload
			}
		}
		if p.size < 1 || p.size > limit {
			return txPlan{}, fmt.Errorf("pktgen: TSO payload %d outside [1, %d] (the driver's largest TSO frame is %d bytes)", p.size, limit, caps.TSOMaxSize)
		}
		frame = tcpSuperFrame(spec.Flow, p.size, mss)
		p.frameBytes = tcpHdrs + p.size
		p.wireFrames = (p.size + mss - 1) / mss
		p.wireBytes = p.wireFrames*tcpHdrs + p.size
	default:
		return txPlan{}, fmt.Errorf("pktgen: %v is not a transmit mode", spec.Mode)
	}
	p.batch = make([]txframe.Frame, batchLen)
	for i := range p.batch {
		p.batch[i] = frame
	}
	return p, nil
}
