//go:build tamago

package kernel

import (
	"fmt"
	"unsafe"

	"github.com/usbarmory/tamago/amd64"

	"tamanet/board"
	"tamanet/lattrace"
)

// Local APIC timer registers (Intel SDM vol. 3A, 11.5.4).
const (
	LAPIC_LVT_TIMER     = 0x320
	LAPIC_TIMER_INITIAL = 0x380
	LAPIC_TIMER_CURRENT = 0x390
	LAPIC_TIMER_DIVIDE  = 0x3e0

	LVT_MASKED     = 1 << 16
	DIVIDE_BY_1    = 0b1011
	wakeVector     = amd64.IRQ_WAKEUP // acknowledged by the amd64 package, no handler
	idleSpinLimit  = 20_000           // shorter waits spin: halting costs more
	maxTimerCounts = 0xffffffff
)

// lapicTimerHz is the local APIC timer's rate with divide-by-1.
var lapicTimerHz uint64

func lapicReg(off uintptr) *uint32 {
	return (*uint32)(unsafe.Add(unsafe.Pointer(nil), uintptr(cpu.LAPIC.Base)+off))
}

// calibrateLAPICTimer measures the local APIC timer's rate at divide-by-1
// against the TSC (see rateProbe).
func calibrateLAPICTimer() error {
	*lapicReg(LAPIC_TIMER_DIVIDE) = DIVIDE_BY_1
	*lapicReg(LAPIC_LVT_TIMER) = LVT_MASKED | wakeVector
	p := rateProbe{
		load:  func() { *lapicReg(LAPIC_TIMER_INITIAL) = maxTimerCounts },
		count: func() uint32 { return *lapicReg(LAPIC_TIMER_CURRENT) },
		tsc:   board.TSC,
		tscHz: board.TSCFrequency(),
	}
	hz, err := p.rate()
	*lapicReg(LAPIC_TIMER_INITIAL) = 0
	if err != nil {
		return fmt.Errorf("kernel: local APIC timer rate: %w", err)
	}
	lapicTimerHz = hz
	return nil
}

// idle is the runtime's goos.Idle: with nothing runnable until the given
// time, arm the local APIC timer for it (which also stops the tick) and
// halt. Any interrupt ends the halt; the runtime then looks for work again,
// with the tick running again. It runs on the scheduler's stack and must
// not allocate.
func idle(until int64) {
	now := board.Nanotime()
	wait := until - now
	if wait < idleSpinLimit {
		return
	}
	counts := uint64(0) // 0 stops the timer, and with it the tick
	if until != 1<<63-1 && lapicTimerHz != 0 {
		counts = max(min(uint64(wait)*lapicTimerHz/1e9, maxTimerCounts), 1)
		*lapicReg(LAPIC_LVT_TIMER) = wakeVector // one-shot, unmasked
	}
	idleCount++
	lattrace.Record(lattrace.KindHalt, 0)
	armAndHalt(lapicReg(LAPIC_TIMER_INITIAL), uint32(counts))
	lattrace.Record(lattrace.KindWake, 0)
	armTick()
}

// armAndHalt starts the timer at counts and halts (halt_amd64.s).
//
//go:noescape
func armAndHalt(initial *uint32, counts uint32)

// idleCount counts halts (only the scheduler writes it).
var idleCount uint64

// Halts returns how many times the CPU halted in the idle loop.
func Halts() uint64 { return idleCount }
