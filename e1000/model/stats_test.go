package model

import "testing"

func TestStatsClearOnRead(t *testing.T) {
	m := newManual(t)
	setupRx(t, m, 8, 2048, RCTL_EN)
	for range 2 {
		if err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 86))); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Read32(GPRC); got != 2 {
		t.Fatalf("GPRC = %d, want 2", got)
	}
	if got := m.Read32(GPRC); got != 0 {
		t.Fatalf("GPRC = %d on second read, want 0", got)
	}
	// 64-bit pairs reset only when the high half is read (13.7).
	if got := m.Read32(GORCL); got != 2*104 {
		t.Fatalf("GORCL = %d, want 208", got)
	}
	if got := m.Read32(GORCL); got != 2*104 {
		t.Fatalf("GORCL = %d after reading the low half alone, want 208", got)
	}
	if got := m.Read32(GORCH); got != 0 {
		t.Fatalf("GORCH = %d", got)
	}
	if got := m.Read32(GORCL); got != 0 {
		t.Fatalf("GORCL = %d after GORCH read, want 0", got)
	}
	m.Write32(TPR, 77) // read-only: ignored
	if got := m.Read32(TPR); got != 2 {
		t.Fatalf("TPR = %d", got)
	}
}

func TestStatsStickAtMaximum(t *testing.T) {
	m := newManual(t)
	m.mu.Lock()
	m.stats[statIndex(MPC)] = 0xFFFFFFFE
	m.statInc(MPC)
	m.statInc(MPC)
	m.stats[statIndex(GORCL)], m.stats[statIndex(GORCH)] = 0xFFFFFFF0, 0xFFFFFFFF
	m.statAdd64(GORCL, 1500)
	m.mu.Unlock()
	if got := m.Read32(MPC); got != 0xFFFFFFFF {
		t.Errorf("MPC = %#x, want stuck at max", got)
	}
	lo, hi := m.Read32(GORCL), m.Read32(GORCH)
	if lo != 0xFFFFFFFF || hi != 0xFFFFFFFF {
		t.Errorf("GORC = %#x_%08x, want stuck at max", hi, lo)
	}
}

// TestStatsCountArena: the model's stats carry its arena's Alloc counts.
func TestStatsCountArena(t *testing.T) {
	m := New(Config{MemSize: 4096})
	if _, _, err := m.DMA().Alloc(16, 1); err != nil {
		t.Fatal(err)
	}
	m.DMA().FailNext(1)
	m.DMA().Alloc(16, 1)
	if st := m.Stats(); st.ArenaAllocs != 1 || st.ArenaFailures != 1 {
		t.Errorf("arena stats %d allocs, %d failures; want 1 and 1", st.ArenaAllocs, st.ArenaFailures)
	}
}
