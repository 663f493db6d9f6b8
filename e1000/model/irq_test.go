package model

import (
	"testing"
	"time"
)

func TestICRSemantics(t *testing.T) {
	m := newManual(t)
	m.Write32(ICS, ICR_RXT0|ICR_TXDW|ICR_LSC)
	if got := m.Read32(ICR); got != ICR_RXT0|ICR_TXDW|ICR_LSC {
		t.Fatalf("ICR = %#x after ICS", got)
	}
	if got := m.Read32(ICR); got != 0 {
		t.Fatalf("ICR = %#x on second read: reading must clear it", got)
	}
	m.Write32(ICS, ICR_RXT0|ICR_TXDW)
	m.Write32(ICR, ICR_TXDW) // writing 1b clears that bit only
	if got := m.Read32(ICR); got != ICR_RXT0 {
		t.Fatalf("ICR = %#x after write-1-to-clear of TXDW", got)
	}
}

func TestIMSAndIMC(t *testing.T) {
	m := newManual(t)
	m.Write32(IMS, ICR_RXT0)
	m.Write32(IMS, ICR_LSC) // IMS writes OR into the mask
	if got := m.Read32(IMS); got != ICR_RXT0|ICR_LSC {
		t.Fatalf("IMS = %#x", got)
	}
	m.Write32(IMC, ICR_RXT0)
	if got := m.Read32(IMS); got != ICR_LSC {
		t.Fatalf("IMS = %#x after IMC", got)
	}
	if got := m.Read32(IMC); got != 0 {
		t.Errorf("IMC reads %#x; it is write-only", got)
	}
}

func TestIRQEdges(t *testing.T) {
	m := newManual(t)
	calls := 0
	m.SetIRQHandler(func() { calls++ })

	m.Write32(ICS, ICR_RXT0) // masked: no interrupt, cause pending
	if calls != 0 || m.IRQAsserted() {
		t.Fatalf("masked cause raised the line (%d calls)", calls)
	}
	m.Write32(IMS, ICR_RXT0) // unmasking a pending cause is an edge
	if calls != 1 || !m.IRQAsserted() {
		t.Fatalf("IMS with pending cause: %d calls, asserted %t", calls, m.IRQAsserted())
	}
	m.Write32(ICS, ICR_RXT0|ICR_TXDW) // line already high: no new edge
	if calls != 1 {
		t.Fatalf("second cause while asserted: %d calls", calls)
	}
	m.Read32(ICR)
	if m.IRQAsserted() {
		t.Fatal("line still high after ICR read")
	}
	m.Write32(ICS, ICR_TXDW) // masked cause: no edge
	if calls != 1 {
		t.Fatalf("masked TXDW: %d calls", calls)
	}
	m.Write32(IMS, ICR_TXDW)
	m.Write32(IMC, ICR_TXDW) // masking drops the line
	if calls != 2 || m.IRQAsserted() {
		t.Fatalf("IMC: %d calls, asserted %t", calls, m.IRQAsserted())
	}
	if got := m.Stats().Interrupts; got != 2 {
		t.Errorf("Stats().Interrupts = %d", got)
	}
}

// TestIRQHandlerRunsUnlocked calls back into the model from the handler, as
// an ISR does; with the model lock held it would deadlock.
func TestIRQHandlerRunsUnlocked(t *testing.T) {
	m := newManual(t)
	var saw uint32
	m.SetIRQHandler(func() {
		saw = m.Read32(ICR)
		m.Write32(IMC, ICR_RXT0)
		m.Write32(IMS, ICR_RXT0)
	})
	done := make(chan struct{})
	go func() {
		m.Write32(IMS, ICR_RXT0)
		m.Write32(ICS, ICR_RXT0)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: handler called with the model lock held")
	}
	if saw != ICR_RXT0 {
		t.Errorf("handler read ICR = %#x", saw)
	}
	if got := m.Stats().ICRReads; got != 1 {
		t.Errorf("ICRReads = %d, want one per interrupt", got)
	}
}
