//go:build tamago

package main

import (
	"fmt"
	"math"
	"time"

	"tamanet/board"
	"tamanet/kernel"
)

// maxClockError is how far the clock may run from the ACPI PM timer.
const maxClockError = 1.0 // percent

// checkSleep sleeps a second five times, printing the clock after each
// sleep (the host logs when the lines arrive), and compares the clock with
// the ACPI PM timer, a counter of QEMU's virtual clock that the board only
// calibrated against at boot: both are read at the same moment inside the
// guest, so a host that stalls QEMU delays the lines but cannot skew the
// comparison. An interval long enough for the 24-bit timer to wrap unseen
// is left out.
func checkSleep() error {
	c0, prev, mask, ok := board.ReadPMTimer()
	if !ok {
		return fmt.Errorf("no ACPI PM timer to compare the clock with")
	}
	start, last := time.Now(), c0
	var clockNs, pmTicks uint64
	for i := range 6 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		c, p, _, _ := board.ReadPMTimer()
		if c-last < 4e9 {
			clockNs += uint64(c - last)
			pmTicks += uint64((p - prev) & mask)
		}
		last, prev = c, p
		fmt.Println("kernelcheck: tick", i, time.Since(start).Nanoseconds())
	}
	pmNs := float64(pmTicks) * 1e9 / board.PMTimerHz
	off := (float64(clockNs)/pmNs - 1) * 100
	fmt.Printf("kernelcheck: clock against the ACPI PM timer over %v: %+.3f%%\n",
		time.Duration(pmNs).Round(time.Millisecond), off)
	if pmTicks == 0 || math.Abs(off) > maxClockError {
		return fmt.Errorf("the clock runs %+.3f%% off the PM timer (bound %v%%)", off, maxClockError)
	}
	return nil
}

// checkWallClock prints time.Now, which kernel.Init set from the CMOS RTC
// (QEMU starts it at the host's UTC): the host compares it with its own
// clock around the line's arrival.
func checkWallClock() error {
	rtc, err := kernel.RTCBoot()
	if err != nil {
		return err
	}
	fmt.Printf("kernelcheck: wall clock %s (RTC at boot %s)\n",
		time.Now().UTC().Format(time.RFC3339Nano), rtc.Format(time.RFC3339Nano))
	return nil
}
