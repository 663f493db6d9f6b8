package e1000

import (
	"testing"
	"time"
)

// lockWait bounds how long TestFaultReleasesLocks waits for calls that
// must not block; they take microseconds when the locks are free.
const lockWait = 10 * time.Second

// TestFaultReleasesLocks: in the unikernel a fault (a page fault reading
// DMA memory or MMIO) is a panic in the faulting goroutine, and net/http
// recovers the panics of its handlers, which call Stats. A panic while the
// driver holds a lock must not leave it held: after recovering, the next
// calls that take the same locks complete. Each case makes one locked
// region panic (an emptied ring stands for unreadable DMA memory, a
// panicking register access for a faulting MMIO read), recovers, restores
// the device and calls Stats, Transmit, a poll and Reset, which between
// them take every lock, within a bound.
func TestFaultReleasesLocks(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault func(r *rig) (restore func())
		call  func(r *rig)
	}{
		{"Stats reading the receive ring", func(r *rig) func() {
			ring := r.d.rxRing
			r.d.rxRing = ring[:0:0]
			return func() { r.d.rxRing = ring }
		}, func(r *rig) { r.d.Stats() }},
		{"a poll reclaiming the transmit ring", func(r *rig) func() {
			r.transmit(frame(peerMAC, 100, 1)) // something to reclaim
			ring := r.d.txRing
			r.d.txRing = ring[:0:0]
			return func() { r.d.txRing = ring }
		}, func(r *rig) { r.d.Poll(64) }},
		{"Reset writing a register", func(r *rig) func() {
			r.bus.before = func(off uint32) {
				if off == IMC {
					panic("MMIO fault")
				}
			}
			return func() { r.bus.before = nil }
		}, func(r *rig) { r.d.Reset() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, Config{})
			restore := c.fault(r)
			got := func() (p any) {
				defer func() { p = recover() }()
				c.call(r)
				return nil
			}()
			restore()
			if got == nil {
				t.Fatal("the fault did not panic")
			}
			t.Logf("recovered: %v", got)

			done := make(chan Stats)
			go func() {
				r.d.Stats()
				r.d.Transmit(plain(frame(peerMAC, 100, 2)))
				r.d.Poll(64)
				if err := r.d.Reset(); err != nil {
					t.Error(err)
				}
				done <- r.d.Stats()
			}()
			select {
			case s := <-done:
				if s.Device.Resets == 0 {
					t.Error("no reset counted")
				}
			case <-time.After(lockWait):
				t.Fatalf("Stats, Transmit, a poll and Reset did not complete within %v: a lock stayed held", lockWait)
			}
		})
	}
}
