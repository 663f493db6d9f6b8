package e1000

import (
	"bytes"
	"testing"
)

func TestTransmit(t *testing.T) {
	r := newRig(t, Config{TxDescriptors: 16})
	tdt0 := r.m.Stats().TDTWrites
	fs := [][]byte{frame(peerMAC, 60, 1), frame(broadcast, 1514, 2), frame(peerMAC, 14, 3)}
	if n := r.transmit(fs...); n != len(fs) {
		t.Fatalf("Transmit took %d of %d", n, len(fs))
	}
	if len(r.wire) != 3 {
		t.Fatalf("%d frames on the wire, want 3", len(r.wire))
	}
	for i, f := range fs {
		w := r.wire[i]
		if len(f) < 60 { // PSP pads short frames to 60 bytes before the FCS
			if len(w) != 60 || !bytes.Equal(w[:len(f)], f) {
				t.Errorf("frame %d: wire %d bytes", i, len(w))
			}
			continue
		}
		if !bytes.Equal(w, f) {
			t.Errorf("frame %d differs on the wire", i)
		}
	}
	if s := r.m.Stats(); s.TDTWrites-tdt0 != 1 {
		t.Errorf("%d TDT writes for one batch", s.TDTWrites-tdt0)
	}
	r.drain() // TXDW -> poll -> reclaim
	s := r.d.Stats().TX
	if s.Queued != 3 || s.Packets != 3 || s.Bytes != 60+1514+14 || s.TailWrites != 1 {
		t.Errorf("tx stats %+v", s)
	}
}

func TestTransmitRejects(t *testing.T) {
	r := newRig(t, Config{})
	tdt0 := r.m.Stats().TDTWrites
	fs := [][]byte{frame(peerMAC, 1515, 1), make([]byte, 13), nil, frame(peerMAC, 100, 2)}
	if n := r.transmit(fs...); n != len(fs) {
		t.Fatalf("Transmit consumed %d of %d", n, len(fs))
	}
	s := r.d.Stats().TX
	if s.DropOversize != 1 || s.DropRunt != 2 || s.Queued != 1 || len(r.wire) != 1 {
		t.Errorf("tx stats %+v, %d on the wire", s, len(r.wire))
	}
	if n := r.transmit(frame(peerMAC, 2000, 3)); n != 1 || r.m.Stats().TDTWrites-tdt0 != 1 {
		t.Errorf("a batch of only bad frames: consumed %d, TDT writes %d", n, r.m.Stats().TDTWrites-tdt0)
	}
}

// TestTxBackpressure fills the ring in one call: the driver takes what fits,
// stops the queue, and calls txReady once the poll has reclaimed enough.
func TestTxBackpressure(t *testing.T) {
	const ring = 16
	r := newRig(t, Config{TxDescriptors: ring})
	// The device must not complete while we fill: hold the transmitter.
	r.m.Write32(TCTL, 0)
	var fs [][]byte
	for i := range 40 {
		fs = append(fs, frame(peerMAC, 100, uint32(i)))
	}
	n := r.transmit(fs...)
	if n != ring-1 {
		t.Fatalf("Transmit took %d, want %d (ring size - 1)", n, ring-1)
	}
	if got := r.transmit(fs[n:]...); got != 0 {
		t.Fatalf("full ring took %d more", got)
	}
	s := r.d.Stats().TX
	if s.RingFull != 1 || r.txReady != 0 {
		t.Errorf("RingFull %d, txReady %d: want one stop, no wake yet", s.RingFull, r.txReady)
	}
	r.drain()
	if r.txReady != 0 {
		t.Fatal("queue woken with nothing completed")
	}
	// Let the transmitter go: it sends everything inside the TCTL write.
	r.m.Write32(TCTL, TCTL_EN|TCTL_PSP|0x0F<<4|0x40<<12)
	if len(r.wire) != ring-1 {
		t.Fatalf("%d frames sent", len(r.wire))
	}
	r.drain()
	if r.txReady != 1 {
		t.Fatalf("txReady called %d times, want 1", r.txReady)
	}
	sent := n
	for sent < len(fs) {
		k := r.transmit(fs[sent:]...)
		if k == 0 {
			r.drain()
			continue
		}
		sent += k
	}
	r.drain()
	if len(r.wire) != len(fs) {
		t.Fatalf("%d of %d frames on the wire", len(r.wire), len(fs))
	}
	for i, w := range r.wire {
		if !bytes.Equal(w, fs[i]) {
			t.Fatalf("wire frame %d out of order or corrupted", i)
		}
	}
	if s := r.d.Stats().TX; s.Packets != uint64(len(fs)) || s.Wakes != uint64(r.txReady) {
		t.Errorf("tx stats %+v, txReady %d", s, r.txReady)
	}
}

func TestTransmitNoCarrier(t *testing.T) {
	r := newRig(t, Config{})
	r.m.SetLink(false)
	if n := r.transmit(frame(peerMAC, 100, 1)); n != 1 {
		t.Fatalf("consumed %d", n)
	}
	if s := r.d.Stats().TX; s.DropNoCarrier != 1 || s.Queued != 0 || len(r.wire) != 0 {
		t.Errorf("tx stats %+v", s)
	}
}
