//go:build tamago

package board

import _ "unsafe" // for go:linkname

// The 8254 PIT counts at 1.193182 MHz on every PC, emulated or not.
const (
	pitHz       = 1193182
	pitChannel0 = 0x40
	pitCommand  = 0x43
	// Channel 0, lobyte/hibyte access, mode 2 (rate generator), binary.
	pitRateGenerator = 0b00_11_010_0
	pitLatch0        = 0b00_00_000_0

	// calibrationTicks is 50 ms of PIT time: long enough that a tick of
	// jitter is 0.002% of the measurement.
	calibrationTicks = pitHz / 20
	// assumedTSCHz is used until calibration, so early timestamps move
	// forward at a plausible rate.
	assumedTSCHz = 1_000_000_000
)

// clock converts the TSC to nanoseconds: ns = baseNs + (tsc-baseTSC)*1e9/hz.
// Rebasing at calibration keeps it monotonic.
var clock = struct {
	baseNs  int64
	baseTSC uint64
	hz      uint64
}{hz: assumedTSCHz}

//go:linkname nanotime runtime/goos.Nanotime
//go:nosplit
func nanotime() int64 {
	return clockAt(rdtsc())
}

// Nanotime is the board clock, for code that must not go through the
// runtime (the idle governor runs inside the scheduler).
//
//go:nosplit
func Nanotime() int64 {
	return clockAt(rdtsc())
}

//go:nosplit
func clockAt(tsc uint64) int64 {
	d := tsc - clock.baseTSC
	// Split to avoid overflowing 64 bits for long uptimes.
	sec := d / clock.hz
	rem := d % clock.hz
	return clock.baseNs + int64(sec)*1e9 + int64(rem*1e9/clock.hz)
}

// TSCFrequency returns the calibrated TSC frequency in Hz.
func TSCFrequency() uint64 {
	return clock.hz
}

func readPIT() uint16 {
	outb(pitCommand, pitLatch0)
	lo := inb(pitChannel0)
	hi := inb(pitChannel0)
	return uint16(hi)<<8 | uint16(lo)
}

// calibrateClock measures the TSC against PIT channel 0 running freely as
// a rate generator over its full 16-bit range, counting down.
func calibrateClock() {
	outb(pitCommand, pitRateGenerator)
	outb(pitChannel0, 0)
	outb(pitChannel0, 0) // reload 0 means 65536

	last := readPIT()
	startTSC := rdtsc()
	elapsed := uint32(0)
	for elapsed < calibrationTicks {
		now := readPIT()
		elapsed += uint32(last - now) // wraps correctly modulo 65536
		last = now
	}
	endTSC := rdtsc()

	hz := (endTSC - startTSC) * pitHz / uint64(elapsed)
	if hz == 0 {
		return
	}
	now := endTSC
	clock.baseNs = clockAt(now)
	clock.baseTSC = now
	clock.hz = hz
}
