package kernel

import (
	"errors"
	"slices"
	"time"
)

// The local APIC timer's rate is not architectural (it is the bus or the
// core crystal clock; QEMU's counts at 1 GHz), so the kernel measures it
// against the calibrated TSC: the timer counts down from its initial count
// for a window of TSC time. Under emulation any access to an emulated
// register can stall for milliseconds (QEMU's virtual CPU waits for the
// emulator's big lock, which a loaded host can keep from it that long), so
// each end of the window is a counter read timed by the TSC readings around
// it, and a read that took too long is tried again. Measured here once:
// timing the window from before the write that loads the count, a stalled
// write left 2.8 µs of counting in a 10 ms window, a rate of 281 kHz
// instead of 1 GHz, and the 2 ms tick became a 563 ns periodic timer that
// kept QEMU's main loop busy forever.

// rateProbe is what measuring a down-counter's rate needs.
type rateProbe struct {
	load  func()        // starts the counter from 0xffffffff, one-shot
	count func() uint32 // reads the counter
	tsc   func() uint64 // reads the time stamp counter
	tscHz uint64
}

const (
	// rateWindow is one measurement's span of TSC time. It is on the
	// boot's critical path (rateRuns of them); reads under TCG take about
	// 0.5 µs, so the spread limit below (2 µs) still bounds the error at
	// 0.1%, and the rate only schedules wake-ups: the clock is the TSC's.
	rateWindow = 2 * time.Millisecond
	// A counter read whose bracketing TSC readings lie more than
	// rateWindow/maxSpreadPart apart was stalled: it is tried again, up
	// to readTries times.
	maxSpreadPart = 1000
	readTries     = 16
	// rateRuns measurements are made; the rate is their median.
	rateRuns = 3
)

// errRateStalled: every try of some counter read stalled.
var errRateStalled = errors.New("every read of the counter stalled")

// read returns the counter and the TSC at the middle of the read, from the
// tightest of up to readTries reads; ok is false if even that one was
// stalled.
func (p rateProbe) read() (count uint32, tsc uint64, ok bool) {
	limit := uint64(rateWindow) * p.tscHz / 1e9 / maxSpreadPart
	best := ^uint64(0)
	for range readTries {
		before := p.tsc()
		c := p.count()
		spread := p.tsc() - before
		if spread < best {
			best, count, tsc = spread, c, before+spread/2
		}
		if best <= limit {
			return count, tsc, true
		}
	}
	return count, tsc, false
}

// measure counts the counter down over one window and returns its rate.
func (p rateProbe) measure() (uint64, error) {
	p.load()
	c0, t0, ok0 := p.read()
	window := uint64(rateWindow) * p.tscHz / 1e9
	for p.tsc()-t0 < window {
	}
	c1, t1, ok1 := p.read()
	switch {
	case !ok0 || !ok1:
		return 0, errRateStalled
	case c1 == 0 || c1 > c0 || t1 <= t0:
		return 0, errors.New("the counter did not count down across the window")
	}
	return uint64(c0-c1) * p.tscHz / (t1 - t0), nil
}

// rate is the median of rateRuns measurements; it fails only if all fail.
func (p rateProbe) rate() (uint64, error) {
	var rates []uint64
	var err error
	for range rateRuns {
		hz, e := p.measure()
		if e != nil {
			err = e
			continue
		}
		rates = append(rates, hz)
	}
	if len(rates) == 0 {
		return 0, err
	}
	slices.Sort(rates)
	return rates[len(rates)/2], nil
}
