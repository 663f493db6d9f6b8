//go:build tamago

package kernel

import (
	"runtime"
	"time"

	"tamanet/board"
)

// The wall clock (time.Now) is the runtime's monotonic clock plus an
// offset, which starts at the Unix epoch: until something sets it, the
// wall clock reads the uptime as a date in 1970.
var rtcBoot struct {
	at  time.Time // the RTC's time as set, zero if it failed
	err error
}

// rtcSecondMiddle is added to the RTC's time: it counts whole seconds, and
// the middle of the second it shows is the best guess (at most half a
// second off, where the second's start is up to a whole one).
const rtcSecondMiddle = 500 * time.Millisecond

// setWallClockFromRTC sets the wall clock from the CMOS RTC. The board
// clock must be calibrated first: the runtime's clock carries the wall
// clock from here on, and an uncalibrated one would move it at the wrong
// rate.
func setWallClockFromRTC() {
	t, err := board.ReadRTC()
	if err != nil {
		rtcBoot.err = err
		return
	}
	rtcBoot.at = t.Add(rtcSecondMiddle)
	SetWallClock(rtcBoot.at)
}

// RTCBoot returns the wall clock Init set from the CMOS RTC, or why it
// could not (the wall clock then counts from 1970).
func RTCBoot() (time.Time, error) { return rtcBoot.at, rtcBoot.err }

// SetWallClock sets what time.Now reads to t, at this instant; the
// monotonic clock (time.Since, timers) does not move.
func SetWallClock(t time.Time) { runtime.SetWallClock(t.UnixNano()) }
