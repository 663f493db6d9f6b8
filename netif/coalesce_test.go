package netif

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// streamByte is byte i of flow f's stream, so that any delivered payload
// can be checked against what was sent at its sequence number.
func streamByte(f int, i uint32) byte { return byte(i*7+i>>8) ^ byte(f*31) }

// flowSegment is a full frame of flow f (port 80+f; IPv6 when f is odd)
// at seq with n bytes of its stream, acknowledging ack, with a timestamp
// tsVal (echoing tsVal+1) and PSH if psh.
func flowSegment(f int, seq uint32, n int, ack, tsVal uint32, psh bool) []byte {
	s := dataSegment(seq, 0, ack, tsVal, tsVal+1)
	header.TCP(s).SetSourcePort(80 + uint16(f))
	if psh {
		s[header.TCPFlagsOffset] |= byte(header.TCPFlagPsh)
	}
	for i := range n {
		s = append(s, streamByte(f, seq+uint32(i)))
	}
	if f%2 == 1 {
		return ipv6Frame(s)
	}
	return ipv4Frame(uint8(header.TCPProtocolNumber), s)
}

// upSegment is a TCP segment the stack got, as the test reads it back.
type upSegment struct {
	flow     int
	seq, ack uint32
	tsVal    uint32
	tsEcr    uint32
	psh      bool
	payload  []byte
}

// parseUp reads a delivered packet (IP header first) of flowSegment's.
func parseUp(t *testing.T, p []byte) upSegment {
	t.Helper()
	var tcp header.TCP
	switch header.IPVersion(p) {
	case header.IPv4Version:
		ip := header.IPv4(p)
		if int(ip.TotalLength()) != len(p) {
			t.Fatalf("IPv4 length %d, packet %d bytes", ip.TotalLength(), len(p))
		}
		tcp = header.TCP(p[header.IPv4MinimumSize:])
	default:
		ip := header.IPv6(p)
		if int(ip.PayloadLength())+header.IPv6MinimumSize != len(p) {
			t.Fatalf("IPv6 payload length %d, packet %d bytes", ip.PayloadLength(), len(p))
		}
		tcp = header.TCP(p[header.IPv6MinimumSize:])
	}
	opts := tcp.Options()
	return upSegment{
		flow: int(tcp.SourcePort()) - 80, seq: tcp.SequenceNumber(), ack: tcp.AckNumber(),
		tsVal: uint32(opts[4])<<24 | uint32(opts[5])<<16 | uint32(opts[6])<<8 | uint32(opts[7]),
		tsEcr: uint32(opts[8])<<24 | uint32(opts[9])<<16 | uint32(opts[10])<<8 | uint32(opts[11]),
		psh:   tcp.Flags()&header.TCPFlagPsh != 0, payload: tcp.Payload(),
	}
}

// sent is one frame fed to the receive path, as the test built it.
type sent struct {
	flow     int
	seq, ack uint32
	tsVal    uint32
	n        int
	psh      bool
}

// TestCoalesceStreams sends interleaved bulk streams of up to 12 flows,
// IPv4 and IPv6 (more than the coalescer holds), with losses,
// reordering, retransmissions, duplicate acknowledgements and PSH, in
// receive batches of random length, and checks what the stack gets: each
// flow's frames come up in the order they arrived, whole or merged into
// packets of consecutive in-order segments of one size (a shorter one
// last), each carrying its first segment's timestamp and its last one's
// acknowledgement and timestamp echo; every payload byte is the stream's
// at its sequence number; the counters add up.
func TestCoalesceStreams(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 1))
		d, ep, g, rec := newGROTestbed()
		flows := 1 + rng.IntN(12)
		next := make([]uint32, flows)
		acks := make([]uint32, flows)
		var in []sent
		for range 400 {
			f := rng.IntN(flows)
			mss := 1448 - 20*(f%2) // the MTU's, with timestamps
			n := mss
			if rng.IntN(20) == 0 {
				n = 1 + rng.IntN(mss)
			}
			seq := next[f]
			switch rng.IntN(30) {
			case 0: // a loss: the next segment leaves a gap
				seq += uint32(mss)
			case 1: // a retransmission
				seq -= uint32(n)
			}
			next[f] = seq + uint32(n)
			if rng.IntN(3) == 0 { // else a duplicate acknowledgement
				acks[f] += uint32(rng.IntN(3000))
			}
			s := sent{flow: f, seq: seq, ack: acks[f], tsVal: uint32(len(in)/8 + 1), n: n, psh: rng.IntN(15) == 0}
			in = append(in, s)
			d.rx(flowSegment(f, s.seq, s.n, s.ack, s.tsVal, s.psh), rng.IntN(2) == 0)
			if rng.IntN(40) == 0 {
				g.Flush()
			}
		}
		g.Flush()

		pending := make([][]sent, flows) // per flow, in arrival order
		for _, s := range in {
			pending[s.flow] = append(pending[s.flow], s)
		}
		merged := 0
		for k, p := range rec.got {
			u := parseUp(t, p)
			first := pending[u.flow][0]
			var last sent
			end, psh, segs := first.seq, false, 0
			for len(u.payload) > int(end-first.seq) {
				s := pending[u.flow][0]
				pending[u.flow] = pending[u.flow][1:]
				if s.seq != end || segs > 0 && (s.n > first.n || last.n < first.n || last.psh) {
					t.Fatalf("seed %d: packet %d of flow %d at %d (%d bytes): segment %d (at %d, %d bytes) is not its in-order continuation",
						seed, k, u.flow, u.seq, len(u.payload), segs, s.seq, s.n)
				}
				last, end, psh, segs = s, end+uint32(s.n), psh || s.psh, segs+1
			}
			if u.seq != first.seq || int(end-first.seq) != len(u.payload) || u.ack != last.ack || u.tsVal != first.tsVal ||
				u.tsEcr != last.tsVal+1 || u.psh != psh || !rec.verified[k] {
				t.Fatalf("seed %d: packet %d: flow %d seq %d ack %d ts %d/%d psh %v verified %v, %d bytes; "+
					"want seq %d ack %d ts %d/%d psh %v verified, %d bytes", seed, k, u.flow, u.seq, u.ack, u.tsVal, u.tsEcr,
					u.psh, rec.verified[k], len(u.payload), first.seq, last.ack, first.tsVal, last.tsVal+1, psh, end-first.seq)
			}
			for i, b := range u.payload {
				if b != streamByte(u.flow, u.seq+uint32(i)) {
					t.Fatalf("seed %d: packet %d: byte %d differs from the stream's", seed, k, i)
				}
			}
			merged += segs - 1
		}
		for f, p := range pending {
			if len(p) != 0 {
				t.Errorf("seed %d: flow %d: %d frames never came up", seed, f, len(p))
			}
		}
		c := ep.Counters()
		checkRxCounters(t, c, len(rec.got), merged)
		flushes := c.RxCoalesceFlushBatchEnd + c.RxCoalesceFlushPush + c.RxCoalesceFlushMismatch +
			c.RxCoalesceFlushFull + c.RxCoalesceFlushEvict + c.RxCoalesceFlushOther
		// The frames not taken are those with PSH that found their
		// flow not held; the GRO engine merges none of them.
		if c.RxCoalescedIn-c.RxCoalescedOut != uint64(merged) || flushes != c.RxCoalescedOut || c.RxCoalescedIn < uint64(len(in))*9/10 {
			t.Errorf("seed %d: rx_coalesced_in %d out %d, flushes %d; want %d merged, as many flushes as out, most of %d frames in",
				seed, c.RxCoalescedIn, c.RxCoalescedOut, flushes, merged, len(in))
		}
	}
}

// TestCoalesceLimit feeds one flow's 100 full segments in one batch: they
// come up in packets no larger than 64 KiB with the Ethernet header, the
// stream whole and in order, the limit counted as the reason.
func TestCoalesceLimit(t *testing.T) {
	d, ep, g, rec := newGROTestbed()
	for i := range uint32(100) {
		d.rx(flowSegment(0, i*1448, 1448, 1, 1, false), true)
	}
	g.Flush()
	var stream []byte
	for _, p := range rec.got {
		if len(p)+header.EthernetMinimumSize > coalesceMax {
			t.Errorf("packet of %d bytes (IP header on), above the limit", len(p))
		}
		u := parseUp(t, p)
		if u.seq != uint32(len(stream)) {
			t.Fatalf("packet at %d, after %d bytes", u.seq, len(stream))
		}
		stream = append(stream, u.payload...)
	}
	want := make([]byte, 100*1448)
	for i := range want {
		want[i] = streamByte(0, uint32(i))
	}
	c := ep.Counters()
	if !bytes.Equal(stream, want) || len(rec.got) != 3 || c.RxCoalesceFlushFull != 2 || c.RxCoalesceFlushBatchEnd != 1 {
		t.Errorf("%d packets, %d bytes (stream equal: %v), flushes full %d batch end %d; want 3 packets (45, 45, 10 segments), 2 full, 1 batch end",
			len(rec.got), len(stream), bytes.Equal(stream, want), c.RxCoalesceFlushFull, c.RxCoalesceFlushBatchEnd)
	}
}

// TestCoalesceLeavesOthers checks segments the coalescer must not take,
// each after two held segments of its flow: the held packet comes up
// first, then the segment alone, unmerged (it is the last of the batch,
// and no GRO merges a single segment).
func TestCoalesceLeavesOthers(t *testing.T) {
	flags := func(f header.TCPFlags) func([]byte) []byte {
		return func(b []byte) []byte {
			b[header.EthernetMinimumSize+header.IPv4MinimumSize+header.TCPFlagsOffset] |= uint8(f)
			return ipv4Frame(6, b[header.EthernetMinimumSize+header.IPv4MinimumSize:])
		}
	}
	for _, c := range []struct {
		name string
		edit func([]byte) []byte // of the third segment's frame
	}{
		{"FIN", flags(header.TCPFlagFin)},
		{"RST", flags(header.TCPFlagRst)},
		{"SYN", flags(header.TCPFlagSyn)},
		{"URG", flags(header.TCPFlagUrg)},
		{"ECE", flags(header.TCPFlagEce)},
		{"bad checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"SACK option", func(b []byte) []byte {
			seg := b[header.EthernetMinimumSize+header.IPv4MinimumSize:]
			hdr := append(bytes.Clone(seg[:32]), 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2)
			hdr[header.TCPDataOffset] = 44 / 4 << 4
			return ipv4Frame(6, append(hdr, seg[32:]...))
		}},
		{"timestamp going back", func([]byte) []byte { return flowSegment(0, 2*1448, 1448, 1, 8, false) }},
		{"no timestamp", func([]byte) []byte { return ipv4Frame(6, tcpSegment(2*1448, 1448)) }},
		{"acknowledgement going back", func([]byte) []byte { return flowSegment(0, 2*1448, 1448, 0, 9, false) }},
		{"larger than the first", func([]byte) []byte { return flowSegment(0, 2*1448, 1449, 1, 9, false) }},
		{"out of order", func([]byte) []byte { return flowSegment(0, 3*1448, 1448, 1, 9, false) }},
		{"beyond the MTU", func([]byte) []byte { return flowSegment(0, 2*1448, 4000, 1, 9, false) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, _, g, rec := newGROTestbed()
			first := flowSegment(0, 0, 1448, 1, 9, false)
			d.rx(first, false)
			d.rx(flowSegment(0, 1448, 1448, 1, 9, false), false)
			third := c.edit(flowSegment(0, 2*1448, 1448, 1, 9, false))
			d.rx(bytes.Clone(third), false)
			g.Flush()
			if len(rec.got) != 2 || len(rec.got[0]) != len(first)-header.EthernetMinimumSize+1448 ||
				!bytes.Equal(rec.got[1], third[header.EthernetMinimumSize:]) {
				t.Errorf("stack got packets of %v bytes; want the first two segments merged, then the third as it came", rec.sizes)
			}
		})
	}
}

// BenchmarkReceiveBulk is the receive path of a bulk TCP upload: batches
// of 64 full frames of 4 connections, through the endpoint, Ethernet and
// GRO to a NIC that drops them.
func BenchmarkReceiveBulk(b *testing.B) {
	d, _, g, _ := newGROTestbed()
	g.Attach(nopDispatcher{})
	var frames [][]byte
	for i := range uint32(64) {
		frames = append(frames, flowSegment(int(i%4)*2, i/4*1448, 1448, 1, 1, false))
	}
	b.SetBytes(int64(len(frames[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.rx(frames[i], false)
		if i++; i == len(frames) {
			g.Flush()
			i = 0
		}
	}
}
