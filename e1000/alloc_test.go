package e1000

import (
	"testing"
)

// The hot paths allocate nothing per packet: receiving and polling a batch,
// and transmitting and reclaiming one (the model's side included).
func TestZeroAllocsPerPacket(t *testing.T) {
	const batch = 32
	r := newRig(t, Config{RxDescriptors: 64, TxDescriptors: 64})
	r.keepRx = false
	r.m.SetTransmitHandler(func([]byte) {})
	var frames [][]byte
	for i := range batch {
		frames = append(frames, frame(testMAC, 64+i*40, uint32(i)))
	}
	rx := testing.AllocsPerRun(50, func() {
		for _, f := range frames {
			if err := r.m.Receive(f); err != nil {
				t.Fatal(err)
			}
		}
		r.drain()
	})
	pf := plain(frames...)
	tx := testing.AllocsPerRun(50, func() {
		if n := r.d.Transmit(pf); n != batch {
			t.Fatalf("Transmit took %d", n)
		}
		r.drain()
	})
	if rx != 0 || tx != 0 {
		t.Errorf("allocations per batch of %d: rx %v, tx %v; want 0", batch, rx, tx)
	}
	s := r.d.Stats()
	if s.RX.Packets != 51*batch || s.TX.Packets != 51*batch {
		t.Errorf("rx %d tx %d packets, want %d each", s.RX.Packets, s.TX.Packets, 51*batch)
	}
}

// BenchmarkRxPoll measures receiving one frame through the model and
// harvesting it with the driver, in polls of 64.
func BenchmarkRxPoll(b *testing.B) {
	for _, size := range []int{64, 1514} {
		b.Run(sizeName(size), func(b *testing.B) {
			r := newRig(b, Config{})
			r.keepRx = false
			f := frame(testMAC, size, 1)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := r.m.Receive(f); err != nil {
					b.Fatal(err)
				}
				if i%64 == 63 {
					r.drain()
				}
			}
			r.drain()
		})
	}
}

// BenchmarkRxPollDriver measures the driver alone: the benchmark plays the
// device by writing DD, EOP and the length into 64 descriptors, then one
// Poll harvests them (one RDT write).
func BenchmarkRxPollDriver(b *testing.B) {
	r := newRig(b, Config{})
	r.keepRx = false
	n := r.d.cfg.RxDescriptors
	b.SetBytes(64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%64 == 0 {
			for k := range 64 {
				desc := rxDescAt(r.d.rxRing, (r.d.rxNextToClean+k)%n)
				desc[RXD_LENGTH] = 64
				desc[RXD_STATUS] = RXD_STAT_DD | RXD_STAT_EOP
			}
			if got := r.d.Poll(64); got != 64 {
				b.Fatalf("Poll harvested %d", got)
			}
		}
	}
}

// BenchmarkTransmit measures transmitting one frame (batches of 32, one TDT
// write each) through the model, reclaim included.
func BenchmarkTransmit(b *testing.B) {
	for _, size := range []int{64, 1514} {
		b.Run(sizeName(size), func(b *testing.B) {
			r := newRig(b, Config{})
			r.m.SetTransmitHandler(func([]byte) {})
			batch := make([][]byte, 32)
			for i := range batch {
				batch[i] = frame(peerMAC, size, uint32(i))
			}
			pf := plain(batch...)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				j := i % len(batch)
				if j == 0 {
					if n := r.d.Transmit(pf); n != len(pf) {
						b.Fatalf("Transmit took %d", n)
					}
					r.drain()
				}
			}
		})
	}
}

func sizeName(n int) string {
	if n < 100 {
		return "64B"
	}
	return "1514B"
}
