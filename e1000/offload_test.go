package e1000

import (
	"bytes"
	"encoding/binary"
	"testing"

	"tamanet/inet"
	"tamanet/txframe"
)

// Frames as gVisor hands them over with host GSO: TCP over IPv4, IP header
// checksum computed, TCP checksum field holding the pseudo-header sum with
// the length (CHECKSUM_PARTIAL).
var (
	srcIP = [4]byte{10, 0, 2, 15}
	dstIP = [4]byte{10, 0, 2, 2}
)

const tcpHdrLen = 32 // with a timestamp option, as gVisor sends

// tcpFrame builds such a frame with n payload bytes.
func tcpFrame(n int, seq uint32, flags byte, id uint16) []byte {
	f := make([]byte, 14+20+tcpHdrLen+n)
	copy(f, peerMAC[:])
	copy(f[6:], testMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(min(20+tcpHdrLen+n, 0xFFFF)))
	binary.BigEndian.PutUint16(ip[4:], id)
	ip[6] = 0x40 // DF
	copy(ip[12:], srcIP[:])
	copy(ip[16:], dstIP[:])
	binary.BigEndian.PutUint16(ip[10:], ^inet.Fold(inet.Sum(0, ip)))
	tcp := f[34:]
	binary.BigEndian.PutUint16(tcp[0:], 80)
	binary.BigEndian.PutUint16(tcp[2:], 40000)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], 99)
	tcp[12], tcp[13] = tcpHdrLen/4<<4, flags
	binary.BigEndian.PutUint16(tcp[14:], 512)
	copy(tcp[20:], []byte{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9}) // NOP NOP TS
	for i := range n {
		tcp[tcpHdrLen+i] = byte(seq) + byte(i*7)
	}
	ps := inet.Sum(0, ip[12:20]) + 6 + uint32(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], inet.Fold(ps))
	return f
}

// tcpOffload is the request netif makes for such a frame.
func tcpOffload(mss int) txframe.Offload {
	o := txframe.Offload{L4: txframe.L4TCP, L3Start: 14, L4Start: 34}
	if mss > 0 {
		o.MSS, o.HeaderLen = uint16(mss), 34+tcpHdrLen
	}
	return o
}

// split cuts f into parts of the given sizes and the rest, as gVisor's views
// would present it.
func split(f []byte, sizes ...int) [][]byte {
	var parts [][]byte
	for _, n := range sizes {
		parts, f = append(parts, f[:n]), f[n:]
	}
	return append(parts, f)
}

// wireSegment checks a frame from the wire: a valid IPv4 header checksum and
// TCP checksum. It returns the TCP sequence number, flags and payload.
func wireSegment(t *testing.T, f []byte) (seq uint32, flags byte, payload []byte) {
	t.Helper()
	ip := f[14:34]
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total != len(f)-14 {
		t.Fatalf("IP total length %d, frame carries %d", total, len(f)-14)
	}
	if inet.Fold(inet.Sum(0, ip)) != 0xFFFF {
		t.Fatalf("bad IPv4 header checksum % x", ip)
	}
	tcp := f[34:]
	if inet.Fold(inet.Sum(inet.Sum(0, ip[12:20])+6+uint32(len(tcp)), tcp)) != 0xFFFF {
		t.Fatal("bad TCP checksum")
	}
	return binary.BigEndian.Uint32(tcp[4:]), tcp[13], tcp[tcpHdrLen:]
}

func TestTransmitTSO(t *testing.T) {
	const mss, n = 1448, 10000
	r := newRig(t, Config{})
	f := tcpFrame(n, 7000, 0x19, 0x4321) // FIN|PSH|ACK
	orig := bytes.Clone(f)
	o := tcpOffload(mss)
	fs := []txframe.Frame{{Parts: split(f, 14, 40, 3000, 1), Offload: o}}
	tdt0 := r.m.Stats().TDTWrites
	if k := r.d.Transmit(fs); k != 1 {
		t.Fatalf("Transmit took %d", k)
	}
	if !bytes.Equal(f, orig) {
		t.Fatal("Transmit modified the stack's buffer")
	}
	segs := (n + mss - 1) / mss
	if len(r.wire) != segs {
		t.Fatalf("%d frames on the wire, want %d", len(r.wire), segs)
	}
	var got []byte
	for i, w := range r.wire {
		seq, flags, p := wireSegment(t, w)
		if want := uint32(7000 + len(got)); seq != want {
			t.Errorf("segment %d: seq %d, want %d", i, seq, want)
		}
		wantFlags := byte(0x10)
		if i == segs-1 {
			wantFlags = 0x19
		}
		if flags != wantFlags {
			t.Errorf("segment %d: flags %#x, want %#x", i, flags, wantFlags)
		}
		if id := binary.BigEndian.Uint16(w[18:]); id != 0x4321+uint16(i) {
			t.Errorf("segment %d: IP ID %#x", i, id)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, orig[14+20+tcpHdrLen:]) {
		t.Error("payload differs after segmentation")
	}
	r.drain()
	s := r.d.Stats().TX
	descs := 1 + (len(f)+txBufferSize-1)/txBufferSize
	if s.Queued != 1 || s.TSO != 1 || s.Contexts != 1 || s.Packets != 1 || s.Segments != uint64(segs) ||
		s.Bytes != uint64(len(f)) || s.Descriptors != uint64(descs) || s.TailWrites != 1 {
		t.Errorf("tx stats %+v (want %d descriptors)", s, descs)
	}
	if r.m.Stats().TDTWrites-tdt0 != 1 {
		t.Error("more than one doorbell for one TSO frame")
	}
}

// TestTransmitChecksumContext sends checksum-only frames: the context is
// loaded once and reused until a TSO frame replaces it.
func TestTransmitChecksumContext(t *testing.T) {
	r := newRig(t, Config{})
	small := func(seq uint32) txframe.Frame {
		return txframe.Frame{Parts: [][]byte{tcpFrame(100, seq, 0x18, 1)}, Offload: tcpOffload(0)}
	}
	big := txframe.Frame{Parts: [][]byte{tcpFrame(3000, 500, 0x10, 2)}, Offload: tcpOffload(1448)}
	fs := []txframe.Frame{small(1), small(2), big, small(3)}
	if k := r.d.Transmit(fs); k != len(fs) {
		t.Fatalf("Transmit took %d", k)
	}
	if len(r.wire) != 1+1+3+1 {
		t.Fatalf("%d frames on the wire", len(r.wire))
	}
	for _, w := range r.wire {
		wireSegment(t, w)
	}
	for _, i := range []int{0, 1, 5} {
		if !bytes.Equal(r.wire[i][34+tcpHdrLen:], fs[map[int]int{0: 0, 1: 1, 5: 3}[i]].Parts[0][34+tcpHdrLen:]) {
			t.Errorf("wire frame %d payload differs", i)
		}
	}
	s := r.d.Stats().TX
	// small(1) loads the checksum context, small(2) reuses it, big loads
	// its own, small(3) must load the checksum context again.
	if s.Contexts != 3 || s.ContextsReused != 1 || s.ChecksumOffload != 3 || s.TSO != 1 {
		t.Errorf("tx stats %+v", s)
	}
}

func TestTransmitBadOffload(t *testing.T) {
	r := newRig(t, Config{})
	f := tcpFrame(3000, 1, 0x10, 1)
	for _, c := range []struct {
		name string
		o    func(*txframe.Offload)
	}{
		{"UDP segmentation", func(o *txframe.Offload) { o.L4 = txframe.L4UDP }},
		{"IPv6 segmentation", func(o *txframe.Offload) { o.IPv6 = true }},
		{"transport header before the IP header", func(o *txframe.Offload) { o.L4Start = 20 }},
		{"IP header inside the Ethernet header", func(o *txframe.Offload) { o.L3Start = 4 }},
		{"checksum offset beyond the context field", func(o *txframe.Offload) { o.L4Start = 250 }},
		{"headers up to the end", func(o *txframe.Offload) { o.HeaderLen = uint16(len(f)) }},
		{"TCP header beyond the headers", func(o *txframe.Offload) { o.HeaderLen = 40 }},
		{"MSS too large for the FIFO", func(o *txframe.Offload) { o.MSS = 16300 }},
		{"headers beyond the 240-byte header buffer", func(o *txframe.Offload) { o.L3Start, o.L4Start, o.HeaderLen = 180, 200, 241 }},
		{"unknown transport", func(o *txframe.Offload) { o.L4 = 7 }},
	} {
		o := tcpOffload(1448)
		c.o(&o)
		before := r.d.Stats().TX
		if k := r.d.Transmit([]txframe.Frame{{Parts: [][]byte{f}, Offload: o}}); k != 1 {
			t.Errorf("%s: consumed %d", c.name, k)
		}
		after := r.d.Stats().TX
		if after.DropBadOffload != before.DropBadOffload+1 || after.Queued != before.Queued {
			t.Errorf("%s: stats %+v", c.name, after)
		}
	}
	if len(r.wire) != 0 {
		t.Errorf("%d frames sent", len(r.wire))
	}
}

// TestTransmitExceedsRing offers a TSO frame larger than a small ring can
// ever hold: refused and counted, the ring untouched and still usable.
func TestTransmitExceedsRing(t *testing.T) {
	r := newRig(t, Config{TxDescriptors: 8})
	if m := r.d.TxCapabilities().TSOMaxSize; m != 6*txBufferSize {
		t.Errorf("TSOMaxSize %d for an 8-descriptor ring", m)
	}
	big := tcpFrame(6*txBufferSize, 1, 0x10, 1) // needs 8 data descriptors + context
	ok := tcpFrame(6*txBufferSize-100, 1, 0x10, 1)
	fs := []txframe.Frame{{Parts: [][]byte{big}, Offload: tcpOffload(1448)}, {Parts: [][]byte{ok}, Offload: tcpOffload(1448)}}
	if k := r.d.Transmit(fs); k != 2 {
		t.Fatalf("consumed %d", k)
	}
	s := r.d.Stats().TX
	if s.DropExceedsRing != 1 || s.Queued != 1 || s.RingFull != 0 {
		t.Errorf("tx stats %+v", s)
	}
	if len(r.wire) != (len(ok)-66+1447)/1448 {
		t.Errorf("%d frames on the wire", len(r.wire))
	}
}

// TestTxMultiDescriptorBackpressure fills the ring with frames of several
// descriptors each while the device is stopped: the ring-full rule counts
// descriptors, and every frame comes out whole and in order.
func TestTxMultiDescriptorBackpressure(t *testing.T) {
	const ring = 16
	r := newRig(t, Config{TxDescriptors: ring})
	r.m.Write32(TCTL, 0)
	var fs []txframe.Frame
	for i := range 10 {
		fs = append(fs, txframe.Frame{Parts: [][]byte{tcpFrame(5000, uint32(i)*5000, 0x10, uint16(i))}, Offload: tcpOffload(1448)})
	}
	// Each takes a context and three data descriptors: three fit in 15.
	if k := r.d.Transmit(fs); k != 3 {
		t.Fatalf("Transmit took %d, want 3", k)
	}
	if s := r.d.Stats().TX; s.RingFull != 1 || s.Descriptors != 12 {
		t.Errorf("tx stats %+v", s)
	}
	r.m.Write32(TCTL, TCTL_EN|TCTL_PSP)
	r.drain()
	if r.txReady != 1 {
		t.Fatalf("txReady %d", r.txReady)
	}
	for sent := 3; sent < len(fs); {
		k := r.d.Transmit(fs[sent:])
		if k == 0 {
			r.drain()
			continue
		}
		sent += k
	}
	r.drain()
	var seq uint32
	for i, w := range r.wire {
		s, _, p := wireSegment(t, w)
		if s != seq {
			t.Fatalf("wire frame %d: seq %d, want %d", i, s, seq)
		}
		seq += uint32(len(p))
	}
	if seq != 50000 {
		t.Errorf("%d payload bytes on the wire", seq)
	}
	if s := r.d.Stats().TX; s.Packets != 10 || s.Segments != 40 {
		t.Errorf("tx stats %+v", s)
	}
}

// TestResetDropsMultiDescriptorPackets: a reset counts packets, not
// descriptors, as dropped.
func TestResetDropsMultiDescriptorPackets(t *testing.T) {
	r := newRig(t, Config{TxDescriptors: 16})
	r.m.Write32(TCTL, 0)
	fs := []txframe.Frame{
		{Parts: [][]byte{tcpFrame(5000, 0, 0x10, 0)}, Offload: tcpOffload(1448)},
		{Parts: [][]byte{frame(peerMAC, 100, 1)}},
	}
	if k := r.d.Transmit(fs); k != 2 {
		t.Fatalf("took %d", k)
	}
	if err := r.d.Reset(); err != nil {
		t.Fatal(err)
	}
	if s := r.d.Stats().TX; s.DropReset != 2 || s.Queued != 2 || s.Packets != 0 {
		t.Errorf("tx stats %+v", s)
	}
	// The context cache went with the reset: the next frame loads it again.
	if k := r.d.Transmit(fs[:1]); k != 1 || r.d.Stats().TX.Contexts != 2 {
		t.Errorf("after reset: %+v", r.d.Stats().TX)
	}
}

func TestTransmitTSOZeroAllocs(t *testing.T) {
	r := newRig(t, Config{})
	r.m.SetTransmitHandler(func([]byte) {})
	fs := []txframe.Frame{
		{Parts: split(tcpFrame(30000, 1, 0x10, 1), 66, 10000), Offload: tcpOffload(1448)},
		{Parts: [][]byte{tcpFrame(50, 2, 0x18, 2)}, Offload: tcpOffload(0)},
	}
	allocs := testing.AllocsPerRun(50, func() {
		if n := r.d.Transmit(fs); n != len(fs) {
			t.Fatalf("Transmit took %d", n)
		}
		r.drain()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per TSO batch", allocs)
	}
}

// TestTransmitKicksWhenFull offers more TSO frames than the ring holds: the
// driver hands over what it queued when the ring fills (QEMU, like the
// model, transmits inside that TDT write), reclaims, and goes on, so one
// call takes everything without waiting for a completion interrupt.
func TestTransmitKicksWhenFull(t *testing.T) {
	r := newRig(t, Config{TxDescriptors: 64}) // 31 descriptors per frame: two at a time
	var fs []txframe.Frame
	for i := range 5 {
		fs = append(fs, txframe.Frame{Parts: [][]byte{tcpFrame(60000, uint32(i)*60000, 0x10, 1)}, Offload: tcpOffload(1448)})
	}
	if k := r.d.Transmit(fs); k != len(fs) {
		t.Fatalf("Transmit took %d of %d", k, len(fs))
	}
	s := r.d.Stats().TX
	if s.RingFull != 0 || s.TailWrites != 3 || r.txReady != 0 {
		t.Errorf("tx stats %+v, txReady %d: want three doorbells, no stop", s, r.txReady)
	}
	if want := 5 * ((60000 + 1447) / 1448); len(r.wire) != want {
		t.Errorf("%d segments on the wire, want %d", len(r.wire), want)
	}
}
