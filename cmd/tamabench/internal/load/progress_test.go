package load

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// On a terminal the last state is printed when the test stops, whatever
// the interval, and the line ends so the next output starts clean.
func TestProgressFinalLine(t *testing.T) {
	var sb strings.Builder
	var ok, bad atomic.Uint64
	ok.Store(42)
	bad.Store(3)
	stop := make(chan struct{})
	close(stop)
	p := &Progress{W: &sb, Interval: time.Hour, Overwrite: true}
	p.watch("rps_c16", time.Now(), 5*time.Second, &ok, &bad, stop)
	out := sb.String()
	if !strings.HasPrefix(out, "rps_c16") || !strings.Contains(out, " 42 ok") || !strings.Contains(out, " 3 err") ||
		!strings.HasSuffix(out, "\r\n") {
		t.Fatalf("got %q", out)
	}
	var nilP *Progress
	nilP.watch("x", time.Now(), time.Second, &ok, &bad, stop) // quiet: must not panic
}
