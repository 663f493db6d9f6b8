package load

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Progress prints a status line for a running test every Interval. With
// Overwrite (a terminal) each line replaces the previous one.
type Progress struct {
	W         io.Writer
	Interval  time.Duration
	Overwrite bool
}

// watch reports a test's counters until stop is closed. total is the
// measured time, for the "elapsed/total" display.
func (p *Progress) watch(name string, start time.Time, total time.Duration, ok, bad *atomic.Uint64, stop <-chan struct{}) {
	if p == nil || p.W == nil {
		return
	}
	iv := p.Interval
	if iv <= 0 {
		iv = time.Second
	}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	line := func() {
		el := time.Since(start)
		rate := float64(ok.Load()) / el.Seconds()
		end := "\n"
		if p.Overwrite {
			end = "\r"
		}
		fmt.Fprintf(p.W, "%-16s %6.1fs/%.0fs %9d ok %6d err %10.0f/s%s",
			name, el.Seconds(), total.Seconds(), ok.Load(), bad.Load(), rate, end)
	}
	for {
		select {
		case <-stop:
			if p.Overwrite {
				line()
				fmt.Fprintln(p.W)
			}
			return
		case <-tick.C:
			line()
		}
	}
}
