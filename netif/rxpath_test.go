package netif

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// A device's checksum verdict vouches for checksums, not for what a frame
// carries: an 82540EM (and e1000/model) also verifies UDP and IPv4 with
// options. The frames below are built so that a parser trusting the verdict
// (TCP at offset 20 of IPv4, 40 of IPv6, lengths as given) reads each pair
// as two pure ACKs of one connection, the second superseding the first.

// udpLookingLikeACK is a UDP datagram whose payload, read as TCP from
// the start of the UDP header, is a pure ACK acknowledging ack.
func udpLookingLikeACK(ack uint32) []byte {
	udp := []byte{0, 53, 0x0f, 0xa0, 0, 20, 0, 0} // checksum 0: none
	payload := make([]byte, 12)
	binary.BigEndian.PutUint32(payload, ack)
	payload[4], payload[5] = 0x50, byte(header.TCPFlagAck) // data offset 20, flags
	return ipv4Frame(uint8(header.UDPProtocolNumber), append(udp, payload...))
}

// optionsACK is a pure ACK at seq behind four bytes of IPv4 options. Read
// from offset 20 its sequence number is the acknowledgement, its
// acknowledgement number the data offset (24) and flags (ACK), and the TCP
// checksum, made 0 by the urgent pointer, an end-of-options.
func optionsACK(seq uint32) []byte {
	f := ipv4FrameOpts(uint8(header.TCPProtocolNumber), []byte{1, 1, 1, 1}, ackSegment(seq, 0x6010_0000, 0, nil))
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	seg := header.TCP(ip[ip.HeaderLength():])
	seg.SetChecksum(0)
	sum := checksum.Checksum(seg, header.PseudoHeaderChecksum(header.TCPProtocolNumber, ip.SourceAddress(), ip.DestinationAddress(), uint16(len(seg))))
	seg.SetUrgentPointer(^sum) // the sum comes out 0xFFFF: the 0 checksum is correct
	return f
}

// extHdrACK is a pure ACK behind a 16-byte IPv6 extension header of type
// next (hop-by-hop or destination options) holding one PadN option, whose
// content, read as TCP, is a pure ACK acknowledging ack.
func extHdrACK(next uint8, ack uint32) []byte {
	ext := []byte{uint8(header.TCPProtocolNumber), 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0x90, byte(header.TCPFlagAck), 0, 0}
	binary.BigEndian.PutUint32(ext[8:], ack)
	return ipv6FrameExt(next, ext, ackSegment(1, 100, 0, nil))
}

// editIPv4 applies edit to the IPv4 header of frame f and recomputes the
// header checksum over the first 20 bytes, and returns f.
func editIPv4(f []byte, edit func(header.IPv4)) []byte {
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	edit(ip)
	ip.SetChecksum(0)
	ip.SetChecksum(^checksum.Checksum(ip[:header.IPv4MinimumSize], 0))
	return f
}

// TestVerifiedFramesChecked feeds frames the device reports verified that
// are not plain TCP segments (UDP, IPv4 options, IPv6 extension headers) or
// whose headers do not add up (truncated, bad IHL, version or length). Each
// must reach the stack unchanged, in order, marked verified (the verdict
// still holds for checksums), never taken for a pure ACK or merged by GRO.
func TestVerifiedFramesChecked(t *testing.T) {
	pureACK := func(ack uint32) []byte { return ipv4Frame(6, ackSegment(1, ack, 0, nil)) }
	truncated := func(ack uint32) []byte {
		f := ipv4Frame(6, append(ackSegment(1, ack, 0, nil), make([]byte, 100)...))
		return f[:header.EthernetMinimumSize+header.IPv4MinimumSize+header.TCPMinimumSize]
	}
	// run is three frames acknowledging 100, 200 and 300: read as pure
	// ACKs, the one between would be dropped.
	run := func(frame func(ack uint32) []byte) [][]byte {
		return [][]byte{frame(100), frame(200), frame(300)}
	}
	edited := func(edit func(header.IPv4)) func(uint32) []byte {
		return func(ack uint32) []byte { return editIPv4(pureACK(ack), edit) }
	}
	for _, c := range []struct {
		name   string
		frames [][]byte
	}{
		{"UDP", run(udpLookingLikeACK)},
		{"IPv4 options", run(optionsACK)},
		{"IPv6 hop-by-hop options", run(func(ack uint32) []byte { return extHdrACK(0, ack) })},
		{"IPv6 destination options", run(func(ack uint32) []byte { return extHdrACK(60, ack) })},
		{"truncated pure ACKs", run(truncated)},
		{"truncated IPv6 pure ACKs", run(func(ack uint32) []byte {
			f := ipv6Frame(append(ackSegment(1, ack, 0, nil), make([]byte, 100)...))
			return f[:header.EthernetMinimumSize+header.IPv6MinimumSize+header.TCPMinimumSize]
		})},
		{"truncated segment after a good one", [][]byte{
			ipv4Frame(6, tcpSegment(0, 1000)),
			ipv4Frame(6, tcpSegment(1000, 1000))[:header.EthernetMinimumSize+40+500],
		}},
		{"IHL below 5", run(edited(func(ip header.IPv4) { ip.SetHeaderLength(16) }))},
		{"IP version 6 in an IPv4 frame", run(edited(func(ip header.IPv4) { ip[0] = 0x65 }))},
		{"total length shorter than the header", run(edited(func(ip header.IPv4) { ip.SetTotalLength(12) }))},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, ep, g, rec := newGROTestbed()
			for _, f := range c.frames {
				d.rx(bytes.Clone(f), true)
			}
			g.Flush()
			if len(rec.got) != len(c.frames) {
				t.Fatalf("stack got %d packets of %v bytes, want the %d frames", len(rec.got), rec.sizes, len(c.frames))
			}
			for i, f := range c.frames {
				if !bytes.Equal(rec.got[i], f[header.EthernetMinimumSize:]) || !rec.verified[i] {
					t.Errorf("packet %d (verified %v):\n% x\nwant frame %d unchanged, verified:\n% x", i, rec.verified[i], rec.got[i], i, f[header.EthernetMinimumSize:])
				}
			}
			checkRxCounters(t, ep.Counters(), len(rec.got), 0)
		})
	}
}

// checkRxCounters asserts the receive counters' invariant after a batch
// ended: every frame the driver delivered was a runt, arrived detached or
// entered GRO, and every packet that entered GRO came up (delivered
// packets, as the test saw them), was merged into another (merged, as the
// test worked out from the content) or was a pure ACK coalesced.
func checkRxCounters(t *testing.T, c Counters, delivered, merged int) {
	t.Helper()
	if c.RxFrames != c.RxRunt+c.RxDetached+c.RxGROIn || c.RxGROOut != uint64(delivered) ||
		c.RxGROIn != c.RxGROOut+uint64(merged)+c.RxACKsCoalesced {
		t.Errorf("counters rx_frames %d rx_runt %d rx_detached %d rx_gro_in %d rx_gro_out %d rx_acks_coalesced %d; "+
			"the stack got %d packets, %d segments merged",
			c.RxFrames, c.RxRunt, c.RxDetached, c.RxGROIn, c.RxGROOut, c.RxACKsCoalesced, delivered, merged)
	}
}

// rxInput is one frame fed to the receive path: its bytes, the device's
// checksum verdict, and whether the receive batch ends after it.
type rxInput struct {
	frame  []byte
	csumOK bool
	flush  bool
}

// rxInputs builds up to 64 frames from fuzzed bytes, four per frame: c
// picks the shape (low four bits), the device verdict (0x10), a batch end
// after the frame (0x20), one of two connections (0x40) and whether the
// frame's byte pos is xored with val (0x80); p is the shape's parameter.
// Each connection's acknowledgement moves back, stays or moves on with
// each frame (p's low bits), and its data segments follow each other, or
// leave a gap or repeat the last (val), carry the acknowledgement and a
// timestamp or not (val), a flag besides ACK and PSH (pos), and a size
// beyond the MTU (pos).
func rxInputs(data []byte) []rxInput {
	var in []rxInput
	acks := [2]uint32{1000, 1000}
	seqs := [2]uint32{1, 1}
	for i := 0; i+3 < len(data) && len(in) < 64; i += 4 {
		c, p, pos, val := data[i], data[i+1], data[i+2], data[i+3]
		conn := c >> 6 & 1
		acks[conn] += uint32(p&3)*100 - 100
		ack := acks[conn]
		edit := func(h *header.TCPFields) {
			h.SrcPort += uint16(conn)
			h.WindowSize += uint16(p >> 7) // a window update
		}
		segment := func(n int) []byte { // the connection's next data
			seq := seqs[conn]
			switch {
			case val&0x0C == 0x04: // a gap: out of order
				seq += 10
			case val&0x0C == 0x08: // a retransmission
				seq -= uint32(n)
			}
			var s []byte
			if val&3 == 0 {
				s = tcpSegment(seq, n)
			} else { // the acknowledgement, a timestamp (val&2) from val
				s = dataSegment(seq, n, ack, uint32(val>>4)*uint32(val&2), uint32(val))
			}
			header.TCP(s).SetSourcePort(80 + uint16(conn))
			if p&0x80 != 0 {
				s[header.TCPFlagsOffset] |= byte(header.TCPFlagPsh)
			}
			s[header.TCPFlagsOffset] |= []byte{0, 0, 0, 0, byte(header.TCPFlagFin), byte(header.TCPFlagRst),
				byte(header.TCPFlagSyn), byte(header.TCPFlagUrg)}[pos&7]
			seqs[conn] = seq + uint32(n)
			return s
		}
		size := 100 // segments of one size merge
		switch {
		case p&4 != 0:
			size = int(p>>3&0xF) + 1
		case pos&0x18 == 0x18: // beyond the MTU, like virtio-net's GSO
			size = 1600
		}
		var f []byte
		switch c & 0xF {
		case 0, 1, 2: // pure ACK, with a timestamp from p
			f = ipv4Frame(6, ackSegment(1, ack, uint32(p>>2&3), edit))
		case 3:
			f = ipv6Frame(ackSegment(1, ack, uint32(p>>2&3), edit))
		case 4, 5:
			f = ipv4Frame(6, segment(size))
		case 6:
			f = ipv6Frame(segment(size))
		case 7: // SACK
			s := append(ackSegment(1, ack, 0, edit), 1, 1, 5, 10, 0, 0, 0, 9, 0, 0, 0, 10)
			s[header.TCPDataOffset] = 32 / 4 << 4
			f = ipv4Frame(6, s)
		case 8:
			f = udpLookingLikeACK(ack)
		case 9:
			f = optionsACK(ack)
		case 10:
			f = extHdrACK(0, ack)
		case 11: // data behind a destination options header (PadN)
			f = ipv6FrameExt(60, []byte{6, 0, 1, 4, 0, 0, 0, 0}, segment(size))
		case 12: // truncated data, over IPv4 or IPv6
			if p&1 == 0 {
				f = ipv4Frame(6, segment(size))
			} else {
				f = ipv6Frame(segment(size))
			}
			f = f[:min(len(f), header.EthernetMinimumSize+header.IPv6MinimumSize+int(p>>2))]
		case 13: // IHL from p
			f = editIPv4(ipv4Frame(6, ackSegment(1, ack, 0, edit)), func(ip header.IPv4) { ip.SetHeaderLength(p >> 4 * 4) })
		case 14: // total length from p
			f = editIPv4(ipv4Frame(6, ackSegment(1, ack, 0, edit)), func(ip header.IPv4) { ip.SetTotalLength(uint16(p)) })
		case 15: // cut short, runts included
			f = ipv4Frame(6, ackSegment(1, ack, 0, edit))
			f = f[:min(len(f), int(p%64))]
		}
		if c&0x80 != 0 && len(f) > 0 {
			f[int(pos)%len(f)] ^= val
		}
		in = append(in, rxInput{frame: f, csumOK: c&0x10 != 0, flush: c&0x20 != 0})
	}
	return in
}

// FuzzReceivePath feeds the whole receive path (Endpoint's rx upcall,
// Ethernet, GRO and ACK coalescing) frames built by rxInputs, each with a
// device verdict, in batches, and checks what the stack gets against what
// went in (checkDelivery).
func FuzzReceivePath(f *testing.F) {
	for _, seed := range [][]byte{
		{0x00, 0x02, 0, 0, 0x00, 0x02, 0, 0, 0x00, 0x02, 0, 0, 0x00, 0x01, 0, 0, 0x00, 0x02, 0, 0}, // ACK run, duplicate
		{0x04, 0, 0, 0, 0x04, 0, 0, 0, 0x14, 0, 0, 0, 0x00, 0x01, 0, 0, 0x04, 0, 0, 0},             // data merged, ACK between
		{0x18, 0x02, 0, 0, 0x18, 0x02, 0, 0, 0x19, 0x02, 0, 0, 0x19, 0x02, 0, 0},                   // verified UDP, IPv4 options
		{0x1a, 0x02, 0, 0, 0x1a, 0x02, 0, 0, 0x1b, 0x00, 0, 0, 0x1b, 0x00, 0, 0},                   // IPv6 extension headers
		{0x06, 0, 0, 0, 0x46, 0, 0, 0, 0x06, 0, 0, 0, 0x16, 0, 0, 0, 0x03, 0x02, 0, 0},             // IPv6 data, two connections
		{0x14, 0, 0, 0, 0x1c, 0x80, 0, 0, 0x1d, 0x42, 0, 0, 0x1e, 0x20, 0, 0, 0x1f, 0x30, 0, 0},    // truncated, bad IHL and length
		{0x00, 0x02, 0, 0, 0x20, 0x02, 0, 0, 0x00, 0x02, 0, 0, 0x80, 0x02, 0x21, 0x10, 0x00, 0x02, 0, 0},
		{0x19, 0x02, 0, 0, 0x19, 0x02, 0, 0, 0x19, 0x02, 0, 0, 0x18, 0x02, 0, 0, 0x18, 0x02, 0, 0, 0x18, 0x02, 0, 0}, // runs of three
		{0x1a, 0x02, 0, 0, 0x1a, 0x02, 0, 0, 0x1a, 0x02, 0, 0, 0x1c, 0x02, 0, 0, 0x1c, 0x02, 0, 0, 0x1c, 0x02, 0, 0},
		{0x1d, 0x42, 0, 0, 0x1d, 0x42, 0, 0, 0x1d, 0x42, 0, 0, 0x1e, 0x0e, 0, 0, 0x1e, 0x0e, 0, 0, 0x1e, 0x0e, 0, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := rxInputs(data)
		d, ep, g, rec := newGROTestbed()
		for _, x := range in {
			d.rx(bytes.Clone(x.frame), x.csumOK)
			if x.flush {
				g.Flush()
			}
		}
		g.Flush()
		checkDelivery(t, in, rec, ep.Counters())
	})
}

// rxSpec is what checkDelivery expects of one input frame, worked out from
// its bytes with gVisor's header accessors, apart from the code under test.
type rxSpec struct {
	runt     bool
	verified bool   // by the device or by netif (rxHeaders.tcpChecksumsValid)
	up       []byte // what the stack gets when the frame comes up alone
	// seg: up is a verified TCP segment over IPv4 without options or
	// IPv6 without extension headers, lengths agreeing, which GRO may
	// merge (when it has payload) and coalescing may drop (when pure).
	seg           bool
	conn          string // addresses and ports
	flow          string // conn and, for IPv6, the flow label (RFC 6437)
	ipLen, hdrLen int    // IP header, IP and TCP headers
	payload       int
	pure          bool // flags ACK only, no payload, options NOP, EOL or timestamp
	seq, ack      uint32
	hasTS         bool
	ts            uint32
}

func specOf(x rxInput) rxSpec {
	f := x.frame
	if len(f) < header.EthernetMinimumSize {
		return rxSpec{runt: true}
	}
	s := rxSpec{verified: x.csumOK || parseRxHeaders(f).tcpChecksumsValid(f), up: f[header.EthernetMinimumSize:]}
	if !s.verified {
		return s
	}
	var addrs, label []byte
	switch header.Ethernet(f).Type() {
	case header.IPv4ProtocolNumber:
		ip := header.IPv4(s.up)
		if !ip.IsValid(len(ip)) {
			return s
		}
		s.up = s.up[:ip.TotalLength()] // Ethernet padding goes
		if ip.HeaderLength() != header.IPv4MinimumSize || ip.Protocol() != uint8(header.TCPProtocolNumber) ||
			ip.FragmentOffset() != 0 || ip.Flags()&header.IPv4FlagMoreFragments != 0 {
			return s
		}
		s.ipLen, addrs = header.IPv4MinimumSize, ip[12:20]
	case header.IPv6ProtocolNumber:
		ip := header.IPv6(s.up)
		if !ip.IsValid(len(ip)) {
			return s
		}
		s.up = s.up[:header.IPv6MinimumSize+int(ip.PayloadLength())]
		if ip.NextHeader() != uint8(header.TCPProtocolNumber) {
			return s
		}
		s.ipLen, addrs = header.IPv6MinimumSize, ip[8:40]
		label = []byte{ip[1] & 0x0F, ip[2], ip[3]}
	default:
		return s
	}
	tcp := header.TCP(s.up[s.ipLen:])
	if len(tcp) < header.TCPMinimumSize || tcp.DataOffset() < header.TCPMinimumSize || int(tcp.DataOffset()) > len(tcp) {
		return s
	}
	s.seg, s.conn = true, string(addrs)+string(tcp[:4])
	s.flow = s.conn + string(label)
	s.hdrLen = s.ipLen + int(tcp.DataOffset())
	s.payload = len(s.up) - s.hdrLen
	var a pureACK
	s.pure = s.payload == 0 && tcp.Flags() == header.TCPFlagAck && tcp[header.TCPDataOffset]&0x0F == 0 &&
		parseACKOptions(tcp.Options(), &a)
	s.seq, s.ack, s.hasTS, s.ts = tcp.SequenceNumber(), tcp.AckNumber(), a.hasTS, a.tsVal
	return s
}

// supersedes reports whether pure ACK a makes pure ACK b, before it,
// redundant: same connection and sequence number, a acknowledges more,
// and its timestamp, if any, does not go back.
func (a *rxSpec) supersedes(b *rxSpec) bool {
	return a.pure && b.pure && a.conn == b.conn && a.seq == b.seq && int32(a.ack-b.ack) > 0 &&
		a.hasTS == b.hasTS && (!a.hasTS || int32(a.ts-b.ts) >= 0)
}

// tsEchoAt returns the offset of the timestamp echo in tcp, whose options
// are NOPs, EOL and timestamps, or 0 if it has no timestamp.
func tsEchoAt(tcp header.TCP) int {
	for i := header.TCPMinimumSize; i+header.TCPOptionTSLength <= int(tcp.DataOffset()); i++ {
		switch tcp[i] {
		case header.TCPOptionTS:
			return i + 6
		case header.TCPOptionNOP:
		default:
			return 0
		}
	}
	return 0
}

// mergeable reports whether GRO may take the frame: a checked segment
// with payload.
func (a *rxSpec) mergeable() bool { return a.seg && a.payload > 0 }

// checkDelivery checks what the stack got (rec) for inputs in:
//   - every frame but runts comes up, alone and byte for byte as it came
//     (a verified frame without its Ethernet padding), or merged by GRO
//     with following segments of its flow: its headers with the IP
//     length and the FIN and PSH flags updated, then the payloads in order;
//   - a pure ACK is left out exactly when the packet before it (in any
//     batch) is a pure ACK it supersedes and the next one, in the same
//     batch, is a pure ACK that supersedes it; so never a duplicate ACK;
//   - frames come up in order, except that GRO may hold segments of one
//     flow while those of another pass (gVisor's engine takes IPv6 flows
//     by their flow label, so a connection changing its label may see a
//     segment with the new one overtake held ones);
//   - the device verdict, or netif's, comes up with the frame;
//   - the counters agree (checkRxCounters) and count the ACKs left out.
func checkDelivery(t *testing.T, in []rxInput, rec *capsRecorder, c Counters) {
	t.Helper()
	spec := make([]rxSpec, len(in))
	for i, x := range in {
		spec[i] = specOf(x)
	}
	pending := make([]bool, len(in)) // to come up
	var arrived []int
	for i := range in {
		if !spec[i].runt {
			arrived = append(arrived, i)
			pending[i] = true
		}
	}
	dropped := 0
	for k := 1; k+1 < len(arrived); k++ {
		prev, i, next := arrived[k-1], arrived[k], arrived[k+1]
		sameBatch := true
		for j := i; j < next; j++ {
			sameBatch = sameBatch && !in[j].flush
		}
		if sameBatch && spec[i].supersedes(&spec[prev]) && spec[next].supersedes(&spec[i]) {
			pending[i] = false
			dropped++
		}
	}
	// mayPass reports whether frame j may come up before frame h, earlier:
	// GRO and the coalescer hold data while other flows' segments pass.
	mayPass := func(h, j int) bool {
		return spec[h].mergeable() && spec[j].seg &&
			(spec[h].conn != spec[j].conn || spec[j].mergeable() && spec[h].flow != spec[j].flow)
	}
	// match returns the frames packet p is, starting with frame i, or nil.
	match := func(i int, p []byte, verified bool) []int {
		s := &spec[i]
		if verified != s.verified {
			return nil
		}
		if bytes.Equal(p, s.up) {
			return []int{i}
		}
		if !s.mergeable() || len(p) < len(s.up) || !bytes.Equal(p[s.hdrLen:len(s.up)], s.up[s.hdrLen:]) {
			return nil
		}
		frames, end := []int{i}, len(s.up)
		flags := s.up[s.ipLen+header.TCPFlagsOffset]
		for j := i + 1; j < len(in) && end < len(p); j++ {
			q := &spec[j]
			switch {
			case !pending[j]:
			case q.mergeable() && q.flow == s.flow:
				// In order, no flag that cannot merge, the same bytes.
				qFlags := q.up[q.ipLen+header.TCPFlagsOffset]
				if q.seq != s.seq+uint32(end-len(s.up)+s.payload) ||
					qFlags&^byte(header.TCPFlagAck|header.TCPFlagPsh|header.TCPFlagFin) != 0 ||
					end+q.payload > len(p) || !bytes.Equal(p[end:end+q.payload], q.up[q.hdrLen:]) {
					return nil
				}
				frames, end = append(frames, j), end+q.payload
				flags |= q.up[q.ipLen+header.TCPFlagsOffset] & byte(header.TCPFlagFin|header.TCPFlagPsh)
			case !mayPass(j, i):
				return nil // j must come up first
			}
		}
		want := bytes.Clone(s.up[:s.hdrLen])
		if s.ipLen == header.IPv4MinimumSize {
			header.IPv4(want).SetTotalLength(uint16(len(p)))
		} else {
			header.IPv6(want).SetPayloadLength(uint16(len(p) - header.IPv6MinimumSize))
		}
		want[s.ipLen+header.TCPFlagsOffset] = flags
		if end != len(p) || len(frames) < 2 {
			return nil
		}
		if bytes.Equal(p[:s.hdrLen], want) {
			return frames // gVisor's GRO engine
		}
		// netif's coalescer: the last segment's acknowledgement,
		// window and timestamp echo.
		last := &spec[frames[len(frames)-1]]
		tcp, lastTCP := header.TCP(want[s.ipLen:]), header.TCP(last.up[last.ipLen:])
		tcp.SetAckNumber(lastTCP.AckNumber())
		tcp.SetWindowSize(lastTCP.WindowSize())
		if at := tsEchoAt(tcp); at > 0 {
			copy(tcp[at:at+4], lastTCP[at:at+4])
		}
		if !bytes.Equal(p[:s.hdrLen], want) {
			return nil
		}
		return frames
	}
	merged := 0
	for k, p := range rec.got {
		var frames []int
		for i := 0; i < len(in) && frames == nil; i++ {
			blocked := false
			for h := range i {
				blocked = blocked || pending[h] && !mayPass(h, i)
			}
			if pending[i] && !blocked {
				frames = match(i, p, rec.verified[k])
			}
		}
		if frames == nil {
			next := "none left"
			if i := slices.Index(pending, true); i >= 0 {
				next = fmt.Sprintf("%d (device verdict %v):\n% x", i, in[i].csumOK, spec[i].up)
			}
			t.Fatalf("packet %d (verified %v) is no frame that may come up now, nor a merge of such:\n% x\nfirst frame to come up: %s",
				k, rec.verified[k], p, next)
		}
		for _, i := range frames {
			pending[i] = false
		}
		merged += len(frames) - 1
	}
	for i := range in {
		if pending[i] {
			t.Errorf("frame %d (device verdict %v) never came up:\n% x", i, in[i].csumOK, in[i].frame)
		}
	}
	if c.RxACKsCoalesced != uint64(dropped) {
		t.Errorf("rx_acks_coalesced %d, want %d", c.RxACKsCoalesced, dropped)
	}
	checkRxCounters(t, c, len(rec.got), merged)
}
