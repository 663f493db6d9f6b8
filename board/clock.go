//go:build tamago

package board

import (
	"time"
	_ "unsafe" // for go:linkname
)

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

// TSCFrequency returns the calibrated TSC frequency in Hz, completing the
// calibration first if it is still pending (see CalibrateClock).
func TSCFrequency() uint64 {
	CalibrateClock()
	return clock.hz
}

func readPIT() uint16 {
	outb(pitCommand, pitLatch0)
	lo := inb(pitChannel0)
	hi := inb(pitChannel0)
	return uint16(hi)<<8 | uint16(lo)
}

// startPIT runs PIT channel 0 freely as a rate generator over its full
// 16-bit range, counting down (IRQ 0 at 18.2 Hz, masked until someone
// routes it), whatever the firmware left: qboot leaves it idle.
func startPIT() {
	outb(pitCommand, pitRateGenerator)
	outb(pitChannel0, 0)
	outb(pitChannel0, 0) // reload 0 means 65536
}

// Without a PM timer (QEMU's microvm has none) the PIT is the reference,
// but its 16-bit counter wraps every 55 ms, unseen while the boot runs. So
// a short window is measured at once (pitQuickTicks, 5 ms instead of a
// 50 ms busy wait), and the window then stays open like the PM timer's:
// at its end the quick rate predicts how far the PIT went, to within the
// rate's error times the window, which tells how many times the counter
// wrapped as long as that stays under a quarter turn (14 ms). The quick
// rate's error is known from its reads' spreads, so the longest window
// whose turns are certain is too (pending.maxTSC); past it the window is
// measured afresh.
const (
	pitQuickTicks = pitHz / 200
	pitWrap       = 1 << 16
	// maxPollGapTSC is the longest gap between two PIT reads that
	// cannot hide a turn (55 ms): 10 ms at 1 GHz, under 55 ms for any
	// TSC faster than 182 MHz.
	maxPollGapTSC = 10_000_000
)

// calibratePITQuick measures the TSC against PIT channel 0 (see startPIT)
// over pitQuickTicks, polling so that no wrap goes unseen, and opens the
// window CalibrateClock refines.
func calibratePITQuick() {
	tsc0, c0, spread0 := readRef(readPIT32)
	last, elapsed := c0, uint32(0)
	tsc, spread := tsc0, spread0
	for elapsed < pitQuickTicks {
		prev := tsc
		var now uint32
		tsc, now, spread = readRef(readPIT32)
		if tsc-prev > maxPollGapTSC {
			// The host stopped the CPU for long enough that the PIT
			// may have turned unseen: start again.
			tsc0, c0, spread0 = tsc, now, spread
			last, elapsed = now, 0
			continue
		}
		elapsed += (last - now) & (pitWrap - 1) // counts down
		last = now
	}
	d := tsc - tsc0
	setRate(tsc, d*pitHz/uint64(elapsed))
	// The rate is off by at most the ends' half-spreads plus a PIT tick
	// over d; a window of maxTSC is then off by less than a quarter turn.
	errTSC := (spread0+spread)/2 + d/uint64(elapsed)
	quarterTurnTSC := uint64(pitWrap/4) * clock.hz / pitHz
	pending.open, pending.pit = true, true
	pending.tsc, pending.ticks = tsc0, uint64(c0)
	pending.maxTSC = quarterTurnTSC * (d / max(errTSC, 1))
}

// pitTicksSince returns the PIT ticks from the window's start to the
// reading (tsc, now): the counter's last partial turn plus the whole turns
// the quick rate makes likeliest. ok is false if the window is too long
// for the turns to be certain.
func pitTicksSince(tsc uint64, now uint32) (ticks uint64, ok bool) {
	d := tsc - pending.tsc
	if d > pending.maxTSC {
		return 0, false
	}
	partial := (pending.ticks - uint64(now)) & (pitWrap - 1)
	predicted := d * pitHz / clock.hz
	if predicted+pitWrap/2 < partial {
		return partial, true
	}
	turns := (predicted + pitWrap/2 - partial) / pitWrap
	return turns*pitWrap + partial, true
}

func readPIT32() uint32 { return uint32(readPIT()) }

// setRate rebases the clock at tsc and switches it to hz, keeping it
// monotonic.
func setRate(tsc, hz uint64) {
	if hz == 0 {
		return
	}
	clock.baseNs = clockAt(tsc)
	clock.baseTSC = tsc
	clock.hz = hz
}

// The ACPI power management timer counts at 3.579545 MHz (ACPI 6.x 4.8.3.3)
// in 24 bits, or 32 with the FADT's TMR_VAL_EXT flag; 24 bits wrap after
// 4.7 s. Unlike the PIT's 55 ms it lets the calibration window span the
// boot instead of a busy wait: CalibrateClock ends the window that
// beginCalibration opened.
const (
	pmTimerHz = 3579545
	// calibrationWindow is the shortest window: 50 ms, as for the PIT.
	calibrationWindow = pmTimerHz / 20
	// maxWindowTSC bounds the window below the 24-bit wrap for any TSC
	// of 1 GHz or faster; a longer one is measured afresh.
	maxWindowTSC = 4_000_000_000
)

// pending is the open calibration window: its reference (the PM timer's
// port and mask, or the PIT), and a reading of both counters at its start.
var pending struct {
	open, pit  bool
	port       uint16
	mask       uint32
	tsc, ticks uint64
	maxTSC     uint64 // PIT: the longest window whose turns are certain
}

// A PM timer read that takes more than readPMSpread TSC ticks (130 µs at
// 1 GHz) was interrupted: under QEMU the host preempted the virtual CPU,
// and the midpoint of such a read can be off by half the gap, tens of
// milliseconds on a loaded host, which over a 50 ms window skewed the rate
// by up to 45% (measured: 1.67 GHz for a 2.45 GHz TSC). readPM retries up
// to readPMTries times and keeps the tightest read.
const (
	readPMSpread = 1 << 17
	readPMTries  = 16
)

// readRef reads a reference counter (read) and the TSC at the same
// moment, as far as the port access allows: the TSC is the midpoint of
// readings around it, spread apart.
func readRef(read func() uint32) (tsc uint64, ticks uint32, spread uint64) {
	spread = ^uint64(0)
	for range readPMTries {
		before := rdtsc()
		t := read()
		d := rdtsc() - before
		if d < spread {
			spread, tsc, ticks = d, before+d/2, t
		}
		if spread <= readPMSpread {
			break
		}
	}
	return tsc, ticks, spread
}

// readPM reads the PM timer at port and the TSC at the same moment.
func readPM(port uint16) (tsc uint64, ticks uint32) {
	tsc, ticks, _ = readRef(func() uint32 { return inl(port) })
	return tsc, ticks
}

// beginCalibration opens the calibration window at start-up, on the PM
// timer if the ACPI tables name one (the clock runs at assumedTSCHz until
// the window closes), else on the PIT after a quick first measurement
// (the clock runs at its rate meanwhile).
func beginCalibration() {
	startPIT()
	port, ext := pmTimer()
	if port == 0 {
		calibratePITQuick()
		return
	}
	pending.open, pending.port, pending.mask = true, port, 0xFFFFFF
	if ext {
		pending.mask = 0xFFFFFFFF
	}
	tsc, ticks := readPM(port)
	pending.tsc, pending.ticks = tsc, uint64(ticks)
}

// CalibrateClock completes the TSC calibration opened at start-up: it waits
// until the window is at least 50 ms long (usually it already is: the boot
// went on meanwhile) and sets the clock's rate from the TSC and reference
// counts across it. Until then Nanotime runs at an assumed 1 GHz (PIT:
// at the quick rate), and boot-phase times are exact only once it has run.
// kernel.Init calls it; later calls return at once. It must not race with
// itself (the runtime runs on one CPU, without preemption).
func CalibrateClock() {
	if !pending.open {
		return
	}
	pending.open = false
	if pending.pit {
		calibratePITEnd()
		return
	}
	port := pending.port
	for {
		tsc, now := readPM(port)
		ticks := (uint64(now) - pending.ticks) & uint64(pending.mask)
		if tsc-pending.tsc > maxWindowTSC {
			// The timer may have wrapped unseen: measure afresh.
			pending.tsc, pending.ticks = tsc, uint64(now)
			continue
		}
		if ticks >= calibrationWindow {
			setRate(tsc, (tsc-pending.tsc)*pmTimerHz/ticks)
			return
		}
	}
}

// calibratePITEnd closes the PIT window calibratePITQuick opened, polling
// until it spans calibrationTicks; a window too long to count its turns
// is measured afresh.
func calibratePITEnd() {
	for {
		tsc, now, _ := readRef(readPIT32)
		ticks, ok := pitTicksSince(tsc, now)
		if !ok {
			pending.tsc, pending.ticks = tsc, uint64(now)
			continue
		}
		if ticks >= calibrationTicks {
			setRate(tsc, (tsc-pending.tsc)*pitHz/ticks)
			return
		}
	}
}

// Calibrated reports whether the clock runs at the measured TSC rate.
func Calibrated() bool { return !pending.open }

// handoffTSC is the TSC when the firmware handed over to cpuinit (PVH
// entry).
var handoffTSC uint64

// The TSC counts from zero when the CPU is reset; under QEMU that is when
// the virtual machine starts running, the same instant QEMU's virtual
// clock (which times its devices) starts from. Times since then are what
// boot phases are measured in.

// TSC returns the time stamp counter.
//
//go:nosplit
func TSC() uint64 { return rdtsc() }

// SinceReset converts a TSC reading to the time since the CPU was reset,
// at the calibrated rate.
func SinceReset(tsc uint64) time.Duration {
	sec := tsc / clock.hz
	rem := tsc % clock.hz
	return time.Duration(sec)*time.Second + time.Duration(rem*1e9/clock.hz)
}

// HandoffTSC returns the TSC at the firmware's hand-off to the image (the
// PVH entry point).
func HandoffTSC() uint64 { return handoffTSC }

// PMTimerHz is the ACPI PM timer's rate.
const PMTimerHz = pmTimerHz

// ReadPMTimer reads the ACPI PM timer and the clock (as Nanotime) at the
// same moment, for checking the clock against a counter it was not read
// from. mask is the timer's width (it wraps after 4.7 s at 24 bits); ok is
// false where the ACPI tables name no PM timer.
func ReadPMTimer() (clockNs int64, ticks, mask uint32, ok bool) {
	port, ext := pmTimer()
	if port == 0 {
		return 0, 0, 0, false
	}
	mask = 0xFFFFFF
	if ext {
		mask = 0xFFFFFFFF
	}
	tsc, ticks := readPM(port)
	return clockAt(tsc), ticks, mask, true
}
