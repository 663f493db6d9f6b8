package runtimestats

import (
	"math"
	"runtime"
	"runtime/metrics"
	"testing"

	"tamanet/unikernel/gcpolicy"
)

func TestRebucket(t *testing.T) {
	src := &metrics.Float64Histogram{
		// [-Inf,0) [0,0.5µs) [0.5µs,2µs) [2µs,1ms) [1ms,0.2s) [0.2s,+Inf)
		Buckets: []float64{math.Inf(-1), 0, 0.5e-6, 2e-6, 1e-3, 0.2, math.Inf(1)},
		Counts:  []uint64{0, 3, 2, 5, 7, 1},
	}
	h := rebucket(src)
	want := map[int]uint64{0: 3, 1: 2, 6: 5, 13: 8}
	for i, c := range h.Counts {
		if c != want[i] {
			t.Errorf("bucket %d (<= %v): %d, want %d", i, runtimeBounds[min(i, len(runtimeBounds)-1)], c, want[i])
		}
	}
	wantSum := 3*0.25e-6 + 2*1.25e-6 + 5*(2e-6+1e-3)/2 + 7*(1e-3+0.2)/2 + 1*0.2
	if math.Abs(h.Sum-wantSum) > 1e-12 {
		t.Errorf("sum %v, want %v", h.Sum, wantSum)
	}
}

// The runtime's histograms are there and count: goroutines waited to run
// and the world stopped for a collection.
func TestReadRuntimeHistograms(t *testing.T) {
	runtime.GC()
	done := make(chan bool)
	for range 10 {
		go func() { done <- true }()
		<-done
	}
	sched, gc := readRuntimeHistograms()
	count := func(h Histogram) (n uint64) {
		for _, c := range h.Counts {
			n += c
		}
		return n
	}
	if count(sched) == 0 || count(gc) == 0 {
		t.Errorf("sched %d, gc %d observations; want some of each", count(sched), count(gc))
	}
}

// Read counts what the runtime did and carries the pace it is given.
func TestRead(t *testing.T) {
	runtime.GC()
	pace := gcpolicy.Pace{GOGC: 150, MemoryLimit: 1 << 30}
	s := Read(pace)
	if s.GCCycles == 0 || s.Mallocs == 0 || s.Goroutines == 0 || s.HeapLiveBytes == 0 {
		t.Errorf("%+v: want collections, allocations, goroutines and a live heap", s)
	}
	if s.GOGC != 150 || s.MemoryLimitBytes != 1<<30 {
		t.Errorf("pace %d, %d; want 150, %d", s.GOGC, s.MemoryLimitBytes, 1<<30)
	}
}
