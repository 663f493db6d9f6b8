package model

import "testing"

// rxLoop receives one frame and hands the descriptor straight back, as a
// driver that refills at once would.
func rxLoop(tb testing.TB, m *Model, n uint32, frame []byte) func() {
	return func() {
		if err := m.Receive(frame); err != nil {
			tb.Fatal(err)
		}
		m.Write32(RDT, (m.Read32(RDH)+n-1)%n)
	}
}

// txLoop queues one single-descriptor packet and writes TDT.
func txLoop(m *Model, r *txRing, addr uint64, size int) func() {
	return func() {
		tail := m.Read32(TDT)
		r.put(int(tail), addr, size, 0, tEOP|tIFCS|tRS, 0)
		m.Write32(TDT, (tail+1)%uint32(r.n))
	}
}

// TestHotPathsDoNotAllocate lets driver benchmarks count their own
// allocations: the model adds none per packet once warmed up.
func TestHotPathsDoNotAllocate(t *testing.T) {
	m := newManual(t)
	setupRx(t, m, 64, 2048, RCTL_EN|RCTL_SECRC|RCTL_BAM)
	r := setupTx(t, m, 64, TCTL_EN|TCTL_PSP)
	m.Write32(IMS, ICR_RXT0|ICR_TXDW)
	m.Write32(RXCSUM, RXCSUM_IPOFLD|RXCSUM_TUOFLD)
	m.SetIRQHandler(func() { m.Read32(ICR) })
	m.SetTransmitHandler(func([]byte) {})
	buf, addr := alloc(t, m, 1514, 16)
	copy(buf, ethFrame(broadcastMAC, testMAC, 0x0800, ipv4(17, udp(make([]byte, 1472)))))
	frame := ethFrame(testMAC, testMAC, 0x0800, ipv4(6, tcp(make([]byte, 1460))))

	if a := testing.AllocsPerRun(200, rxLoop(t, m, 64, frame)); a != 0 {
		t.Errorf("Receive: %.1f allocations per frame", a)
	}
	if a := testing.AllocsPerRun(200, txLoop(m, r, addr, 1514)); a != 0 {
		t.Errorf("transmit: %.1f allocations per frame", a)
	}
	// AllocsPerRun runs each function once more as a warm-up.
	if st := m.Stats(); st.RxFrames != 201 || st.TxFrames != 201 || st.Interrupts < 402 {
		t.Errorf("the loops did not do their work: %+v", st)
	}
}

func benchmarkReceive(b *testing.B, size int) {
	m := newManual(b)
	setupRx(b, m, 256, 2048, RCTL_EN|RCTL_SECRC)
	m.Write32(RXCSUM, RXCSUM_IPOFLD|RXCSUM_TUOFLD)
	frame := ethFrame(testMAC, testMAC, 0x0800, ipv4(17, udp(make([]byte, size-42))))
	step := rxLoop(b, m, 256, frame)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

func BenchmarkReceive64(b *testing.B)   { benchmarkReceive(b, 64) }
func BenchmarkReceive1514(b *testing.B) { benchmarkReceive(b, 1514) }

func BenchmarkTransmit1514(b *testing.B) {
	m := newManual(b)
	r := setupTx(b, m, 256, TCTL_EN|TCTL_PSP)
	m.SetTransmitHandler(func([]byte) {})
	_, addr := alloc(b, m, 1514, 16)
	step := txLoop(m, r, addr, 1514)
	b.SetBytes(1514)
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

// BenchmarkRegisterAccess is the cost of one Read32, the model's analogue
// of an MMIO exit.
func BenchmarkRegisterAccess(b *testing.B) {
	m := newManual(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Read32(STATUS)
	}
}
