package model

import (
	"testing"
	"time"
)

// These tests run on the manual clock: durations are model time, computed
// from the register units (1.024 µs for RDTR/RADV/TIDV/TADV, 256 ns for
// ITR), not measurements.

const us = time.Microsecond

func rxTimerSetup(t *testing.T, rdtr, radv uint32) (*Model, *int, []byte) {
	t.Helper()
	m := newManual(t)
	setupRx(t, m, 64, 2048, RCTL_EN|RCTL_SECRC)
	m.Write32(RDTR, rdtr)
	m.Write32(RADV, radv)
	calls, _ := countIRQ(m)
	m.Write32(IMS, ICR_RXT0)
	return m, calls, ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 46))
}

func receiveOK(t *testing.T, m *Model, f []byte) {
	t.Helper()
	if err := m.Receive(f); err != nil {
		t.Fatal(err)
	}
}

func TestRDTRZeroIsImmediate(t *testing.T) {
	m, calls, f := rxTimerSetup(t, 0, 100)
	receiveOK(t, m, f)
	receiveOK(t, m, f)
	if *calls != 2 {
		t.Fatalf("RDTR=0: %d interrupts for 2 packets, want 2", *calls)
	}
	m.Advance(time.Second)
	if *calls != 2 {
		t.Fatalf("RDTR=0 disables RADV, yet a timer fired later")
	}
}

func TestRDTRPacketTimerRestarts(t *testing.T) {
	m, calls, f := rxTimerSetup(t, 10, 0) // 10.24 µs
	receiveOK(t, m, f)
	m.Advance(10 * us)
	if *calls != 0 {
		t.Fatal("RXT0 before 10.24 µs")
	}
	m.Advance(240 * time.Nanosecond)
	if *calls != 1 {
		t.Fatalf("RXT0 not raised at 10.24 µs (%d calls)", *calls)
	}
	// A second packet before expiry restarts the countdown.
	receiveOK(t, m, f)
	m.Advance(8 * us)
	receiveOK(t, m, f)
	m.Advance(8 * us)
	if *calls != 1 {
		t.Fatal("packet timer not restarted by the second packet")
	}
	m.Advance(2240 * time.Nanosecond)
	if *calls != 2 {
		t.Fatalf("restarted timer did not fire 10.24 µs after the last packet (%d calls)", *calls)
	}
}

func TestRADVBoundsTheDelay(t *testing.T) {
	m, calls, f := rxTimerSetup(t, 10, 15) // 10.24 µs packet, 15.36 µs absolute
	receiveOK(t, m, f)
	m.Advance(8 * us)
	receiveOK(t, m, f) // packet timer now due at 18.24 µs
	m.Advance(7350 * time.Nanosecond)
	if *calls != 0 {
		t.Fatal("RXT0 before RADV expired")
	}
	m.Advance(10 * time.Nanosecond) // t = 15.36 µs
	if *calls != 1 {
		t.Fatalf("RADV did not fire at 15.36 µs (%d calls)", *calls)
	}
	m.Advance(10 * us)
	if *calls != 1 {
		t.Fatal("the halted packet timer raised a second interrupt")
	}
}

func TestRDTRFlushPartialDescriptorBlock(t *testing.T) {
	m, calls, f := rxTimerSetup(t, 1000, 0)
	receiveOK(t, m, f)
	m.Write32(RDTR, 1000|RDTR_FPD)
	if *calls != 1 {
		t.Fatal("FPD did not expire the timer at once")
	}
	if got := m.Read32(RDTR); got != 1000 {
		t.Errorf("RDTR = %#x: FPD must self-clear", got)
	}
}

func TestITRHoldsOffAssertions(t *testing.T) {
	m := newManual(t)
	calls, _ := countIRQ(m) // the handler reads ICR, dropping the line
	m.Write32(ITR, 1000)    // 256 µs between interrupts
	m.Write32(IMS, ICR_RXT0)

	m.Write32(ICS, ICR_RXT0)
	if *calls != 1 {
		t.Fatalf("first interrupt held off (%d calls)", *calls)
	}
	m.Advance(100 * us)
	m.Write32(ICS, ICR_RXT0)
	if *calls != 1 || m.IRQAsserted() {
		t.Fatal("second interrupt inside the ITR interval")
	}
	if m.Read32(ICR) != ICR_RXT0 {
		t.Fatal("a held-off cause must stay visible in ICR")
	}
	m.Write32(ICS, ICR_RXT0)
	m.Advance(155 * us)
	if *calls != 1 {
		t.Fatal("interrupt before 256 µs")
	}
	m.Advance(1 * us)
	if *calls != 2 {
		t.Fatalf("held-off interrupt not delivered at 256 µs (%d calls)", *calls)
	}
	// The next interval counts from that interrupt.
	m.Write32(ICS, ICR_RXT0)
	m.Advance(255 * us)
	if *calls != 2 {
		t.Fatal("interval not counted from the last interrupt")
	}
	m.Advance(1 * us)
	if *calls != 3 {
		t.Fatalf("third interrupt missing (%d calls)", *calls)
	}
	m.Write32(ITR, 0) // throttling off: immediate again
	m.Write32(ICS, ICR_RXT0)
	if *calls != 4 {
		t.Fatalf("ITR=0 still throttles (%d calls)", *calls)
	}
}

func txTimerSetup(t *testing.T, tidv, tadv uint32) (*Model, *txRing, *int, uint64) {
	t.Helper()
	m := newManual(t)
	r := setupTx(t, m, 16, TCTL_EN|TCTL_PSP)
	m.Write32(TIDV, tidv)
	m.Write32(TADV, tadv)
	calls, _ := countIRQ(m)
	m.Write32(IMS, ICR_TXDW)
	_, addr := alloc(t, m, 64, 16)
	return m, r, calls, addr
}

func sendOne(m *Model, r *txRing, addr uint64, cmd uint8) {
	i := int(m.Read32(TDT))
	r.put(i, addr, 60, 0, cmd, 0)
	m.Write32(TDT, uint32((i+1)%r.n))
}

func TestTIDVDelaysTXDW(t *testing.T) {
	m, r, calls, addr := txTimerSetup(t, 10, 0)
	sendOne(m, r, addr, tEOP|tIFCS|tRS|tIDE)
	if *calls != 0 {
		t.Fatal("TXDW not delayed with IDE set")
	}
	if r.status(0)&1 == 0 {
		t.Fatal("DD write-back must not wait for the interrupt delay")
	}
	m.Advance(10240 * time.Nanosecond)
	if *calls != 1 {
		t.Fatalf("TXDW not raised after TIDV (%d calls)", *calls)
	}
	sendOne(m, r, addr, tEOP|tIFCS|tRS) // IDE clear: immediate
	if *calls != 2 {
		t.Fatalf("IDE clear: TXDW not immediate (%d calls)", *calls)
	}
	sendOne(m, r, addr, tEOP|tIFCS|tIDE) // no RS: no write-back, no TXDW
	m.Advance(time.Millisecond)
	if *calls != 2 {
		t.Fatal("TXDW without RS")
	}
}

func TestTADVBoundsTXDW(t *testing.T) {
	m, r, calls, addr := txTimerSetup(t, 10, 15)
	sendOne(m, r, addr, tEOP|tRS|tIDE)
	m.Advance(8 * us)
	sendOne(m, r, addr, tEOP|tRS|tIDE) // TIDV now due at 18.24 µs
	m.Advance(7350 * time.Nanosecond)
	if *calls != 0 {
		t.Fatal("TXDW before TADV")
	}
	m.Advance(10 * time.Nanosecond)
	if *calls != 1 {
		t.Fatalf("TADV did not fire at 15.36 µs (%d calls)", *calls)
	}
	m.Advance(10 * us)
	if *calls != 1 {
		t.Fatal("TIDV fired again after TADV")
	}
}

// TestRealClockTimersFire checks the time.AfterFunc path: a 1.024 µs RDTR
// must eventually raise RXT0 without Advance. It waits on the event, with a
// generous cap only against hanging.
func TestRealClockTimersFire(t *testing.T) {
	m := New(Config{MAC: testMAC, MemSize: 1 << 20})
	defer m.Close()
	setupRx(t, m, 8, 2048, RCTL_EN|RCTL_SECRC)
	m.Write32(RDTR, 1)
	fired := make(chan struct{}, 1)
	m.SetIRQHandler(func() {
		m.Read32(ICR)
		fired <- struct{}{}
	})
	m.Write32(IMS, ICR_RXT0)
	if err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 46))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("real-clock RDTR never fired")
	}
}
