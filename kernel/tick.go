//go:build tamago

package kernel

import (
	"runtime"
	"sync/atomic"

	"github.com/usbarmory/tamago/amd64/lapic"

	"tamanet/board"
)

// The runtime's tick (runtime.TickGate) preempts goroutines that keep the
// CPU for longer than a time slice and samples the CPU profile. The local APIC timer raises it in
// periodic mode while the CPU is busy; the idle governor turns it into a
// one-shot wake-up for the next deadline before halting and restarts it
// after, so an idle CPU takes no tick.
const (
	// tickVector is in the top priority class (0xf0-0xff), above every
	// device vector: the amd64 package acknowledges device interrupts only
	// once their handler ran, and a pending one must not hold off the tick.
	tickVector = 0xfe

	LVT_PERIODIC = 1 << 17
)

// tickCounts is the timer's initial count per tick, 0 when the runtime
// needs no tick.
var tickCounts atomic.Uint32

// startTick installs the runtime's tick handler; the runtime then calls
// setTickPeriod with the period it needs.
func startTick() {
	board.SetGate(tickVector, runtime.TickGate(uintptr(cpu.LAPIC.Base)+lapic.LAPIC_EOI))
	runtime.SetTickTimer(setTickPeriod)
}

// StopTick stops the runtime's tick for good: goroutines are no longer
// preempted and CPU profiles stay empty. It exists to measure what the tick
// costs (boot option tick=off).
func StopTick() {
	runtime.SetTickTimer(func(int64) {})
	setTickPeriod(0)
}

// setTickPeriod is the runtime's timer control: it runs with runtime locks
// held and must not allocate.
func setTickPeriod(period int64) {
	counts := uint64(0)
	if period > 0 {
		counts = max(uint64(period)*lapicTimerHz/1e9, 1)
		counts = min(counts, maxTimerCounts)
	}
	tickCounts.Store(uint32(counts))
	armTick()
}

// armTick starts the periodic tick, or stops the timer when no tick is
// needed.
func armTick() {
	counts := tickCounts.Load()
	if counts == 0 {
		*lapicReg(LAPIC_TIMER_INITIAL) = 0
		return
	}
	*lapicReg(LAPIC_LVT_TIMER) = LVT_PERIODIC | tickVector
	*lapicReg(LAPIC_TIMER_INITIAL) = counts
}

// TickStats is what the runtime's tick did: ticks, CPU profile samples,
// preemptions.
func TickStats() runtime.TickStats {
	return runtime.ReadTickStats()
}
