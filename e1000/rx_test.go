package e1000

import (
	"bytes"
	"testing"
)

func TestRxFramesAndChecksum(t *testing.T) {
	r := newRig(t, Config{})
	sizes := []int{60, 64, 100, 512, 1000, 1514}
	var sent [][]byte
	for i, n := range sizes {
		sent = append(sent, frame(testMAC, n, uint32(i)))
	}
	good := udpFrame(testMAC, 100)
	badIP := udpFrame(broadcast, 40)
	badIP[14+10] ^= 0xFF // IP header checksum
	badUDP := udpFrame(testMAC, 40)
	badUDP[len(badUDP)-1] ^= 0xFF
	sent = append(sent, good, badIP, badUDP)
	r.receive(sent...)
	r.drain()

	if len(r.rx) != len(sent) {
		t.Fatalf("delivered %d frames, want %d", len(r.rx), len(sent))
	}
	for i := range sent {
		if !bytes.Equal(r.rx[i], sent[i]) {
			t.Errorf("frame %d differs (len %d vs %d)", i, len(r.rx[i]), len(sent[i]))
		}
	}
	wantCsum := []bool{false, false, false, false, false, false, true, false, false}
	for i, w := range wantCsum {
		if r.csum[i] != w {
			t.Errorf("frame %d csumOK %v, want %v", i, r.csum[i], w)
		}
	}
	s := r.d.Stats().RX
	if s.Packets != uint64(len(sent)) || s.ChecksumOffloaded != 1 || s.ChecksumErrIP != 1 || s.ChecksumErrL4 != 1 {
		t.Errorf("rx stats %+v", s)
	}
	var bytesSent uint64
	for _, f := range sent {
		bytesSent += uint64(len(f))
	}
	if s.Bytes != bytesSent {
		t.Errorf("rx bytes %d, want %d", s.Bytes, bytesSent)
	}
	rxAccounted(t, s)
}

// TestRxRingWrap sends more than three rings' worth of frames in bursts and
// checks order, one RDT write per poll that did work, and that buffers are
// recycled in place (no DMA allocation after New, addresses unchanged).
func TestRxRingWrap(t *testing.T) {
	const ring = 32
	r := newRig(t, Config{RxDescriptors: ring, NAPI: napiBudget(8)})
	used := r.m.DMA().Used()
	_, rdt0 := r.m.Accesses(RDT)
	total := 0
	for burst := 0; total < 3*ring+ring/2; burst++ {
		var fs [][]byte
		for range 5 + burst%20 { // up to 24: fits in the 31 free descriptors
			fs = append(fs, frame(testMAC, 60+total%1400, uint32(total)))
			total++
		}
		r.receive(fs...)
		r.drain()
	}
	if len(r.rx) != total {
		t.Fatalf("delivered %d of %d", len(r.rx), total)
	}
	for i, f := range r.rx {
		if got := uint32(f[14])<<24 | uint32(f[15])<<16 | uint32(f[16])<<8 | uint32(f[17]); got != uint32(i) {
			t.Fatalf("frame %d carries sequence %d", i, got)
		}
	}
	ns := r.d.Stats().NAPI
	_, rdt := r.m.Accesses(RDT)
	if busy := ns.Polls - ns.PollSizes.Buckets[0]; rdt-rdt0 != busy {
		t.Errorf("%d RDT writes for %d polls that harvested", rdt-rdt0, busy)
	}
	if ns.BudgetExhaustions == 0 {
		t.Error("bursts above the budget never exhausted it")
	}
	if r.m.DMA().Used() != used {
		t.Errorf("DMA arena grew from %d to %d bytes during traffic", used, r.m.DMA().Used())
	}
	for i := range ring {
		if a := leUint64(rxDescAt(r.d.rxRing, i)); a != r.d.rxBufAddr(i) {
			t.Errorf("descriptor %d points at %#x, want its own buffer %#x", i, a, r.d.rxBufAddr(i))
		}
	}
	rxAccounted(t, r.d.Stats().RX)
}

// TestRxOverrun leaves the ring unpolled until the device runs out of
// descriptors: it counts the overrun and the missed frames, and the path
// recovers once polled.
func TestRxOverrun(t *testing.T) {
	const ring = 16
	r := newRig(t, Config{RxDescriptors: ring})
	refused := 0
	for i := range 25 {
		if err := r.m.Receive(frame(testMAC, 100, uint32(i))); err != nil {
			refused++
		}
	}
	if refused != 25-(ring-1) {
		t.Fatalf("model refused %d frames, want %d", refused, 25-(ring-1))
	}
	r.drain()
	if len(r.rx) != ring-1 {
		t.Fatalf("delivered %d, want %d", len(r.rx), ring-1)
	}
	r.d.UpdateStats()
	s := r.d.Stats()
	if s.Device.RxOverruns == 0 {
		t.Error("RXO never seen")
	}
	if s.HW.MissedPackets != uint64(refused) || s.HW.RxNoBuffers != uint64(refused) {
		t.Errorf("MPC %d RNBC %d, want %d", s.HW.MissedPackets, s.HW.RxNoBuffers, refused)
	}
	r.rx = nil
	for i := range 3 * ring {
		r.receive(frame(testMAC, 200, uint32(i)))
		if i%8 == 7 {
			r.drain()
		}
	}
	r.drain()
	if len(r.rx) != 3*ring {
		t.Errorf("after recovery delivered %d of %d", len(r.rx), 3*ring)
	}
	if r.d.NAPI().Scheduled() || r.m.Read32(IMS)&intrPoll != intrPoll {
		t.Errorf("after recovery: scheduled %v, IMS %#x", r.d.NAPI().Scheduled(), r.m.Read32(IMS))
	}
}

// TestMalformedDescriptors injects write-backs a healthy device would not
// produce and checks each is dropped under its own counter, its buffer
// recycled, and nothing after it lost.
func TestMalformedDescriptors(t *testing.T) {
	r := newRig(t, Config{RxDescriptors: 16})
	payload := frame(testMAC, 200, 7)
	const dd, eop = RXD_STAT_DD, RXD_STAT_EOP
	inject := []struct {
		length         uint16
		status, errors uint8
	}{
		{200, dd, 0},                // EOP clear: first part of a frame...
		{200, dd, 0},                // ...middle...
		{150, dd | eop, 0},          // ...and its tail: all three dropped
		{200, dd | eop, RXD_ERR_CE}, // CRC error
		{200, dd | eop, RXD_ERR_SE | RXD_ERR_RXE},    // symbol + data error
		{200, dd | eop, 1 << 3},                      // reserved error bit
		{0, dd | eop, 0},                             // no data
		{5, dd | eop, 0},                             // shorter than a header
		{3000, dd | eop, 0},                          // longer than the buffer
		{1600, dd | eop, 0},                          // longer than a frame without LPE
		{200, dd | eop | RXD_STAT_IPCS, RXD_ERR_IPE}, // bad IP checksum: delivered, not trusted
	}
	for _, in := range inject {
		if err := r.m.InjectRx(in.length, in.status, in.errors, payload); err != nil {
			t.Fatalf("InjectRx: %v", err)
		}
	}
	r.drain()
	good := [][]byte{frame(testMAC, 60, 100), frame(testMAC, 1514, 101), udpFrame(testMAC, 10)}
	r.receive(good...)
	r.drain()

	s := r.d.Stats().RX
	want := RxStats{
		Descriptors: uint64(len(inject) + len(good)), Packets: 1 + uint64(len(good)),
		DropNoEOP: 3, DropFrameError: 3, DropZeroLength: 1, DropRunt: 1, DropOversize: 2,
		ErrCRC: 1, ErrSymbol: 1, ErrRxData: 1, ErrReserved: 1, ChecksumErrIP: 1, ChecksumOffloaded: 1,
	}
	want.Bytes = 200
	for _, g := range good {
		want.Bytes += uint64(len(g))
	}
	if s != want {
		t.Errorf("rx stats\n got %+v\nwant %+v", s, want)
	}
	rxAccounted(t, s)
	if len(r.rx) != 4 || !bytes.Equal(r.rx[0], payload) || r.csum[0] {
		t.Fatalf("first delivery should be the IPE frame, untrusted; got %d frames", len(r.rx))
	}
	for i, g := range good {
		if !bytes.Equal(r.rx[1+i], g) {
			t.Errorf("good frame %d corrupted after the malformed ones", i)
		}
	}
}

// TestRxNoHandler drops and counts frames that arrive before Attach.
func TestRxNoHandler(t *testing.T) {
	r := newRig(t, Config{})
	r.d.Attach(nil, nil, nil)
	r.receive(frame(testMAC, 100, 1))
	r.drain()
	if s := r.d.Stats().RX; s.DropNoHandler != 1 || s.Packets != 0 {
		t.Errorf("rx stats %+v", s)
	}
}

// TestRxSpanningFrame: a frame too big for one buffer (LPE turned on behind
// the driver's back) arrives split; every piece is dropped.
func TestRxSpanningFrame(t *testing.T) {
	r := newRig(t, Config{})
	r.m.Write32(RCTL, r.m.Read32(RCTL)|RCTL_LPE)
	r.receive(frame(testMAC, 5000, 1), frame(testMAC, 100, 2))
	r.drain()
	s := r.d.Stats().RX
	if s.DropNoEOP != 3 || s.Packets != 1 || len(r.rx) != 1 || r.rx[0][17] != 2 {
		t.Errorf("rx stats %+v, delivered %d", s, len(r.rx))
	}
	rxAccounted(t, s)
}

// TestRingOccupancy: Stats reports written-back receive descriptors not yet
// harvested and transmit descriptors not yet reclaimed.
func TestRingOccupancy(t *testing.T) {
	r := newRig(t, Config{RxDescriptors: 32, TxDescriptors: 32})
	r.m.Write32(IMC, ^uint32(0)) // no interrupt, so nothing is polled
	r.m.Write32(TCTL, 0)         // nothing is sent
	for i := range 5 {
		r.receive(frame(testMAC, 100, uint32(i)))
	}
	r.transmit(frame(peerMAC, 100, 1), frame(peerMAC, 100, 2))
	want := RingStats{RxReady: 5, TxInFlight: 2, RxSize: 32, TxSize: 32}
	if got := r.d.Stats().Rings; got != want {
		t.Errorf("rings %+v, want %+v", got, want)
	}
	r.d.NAPI().Schedule()
	r.drain()
	if got := r.d.Stats().Rings; got.RxReady != 0 || got.TxInFlight != 2 {
		t.Errorf("after a poll: rings %+v, want no receive descriptor ready and 2 in flight", got)
	}
}
