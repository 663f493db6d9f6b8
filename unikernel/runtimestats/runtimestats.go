// Package runtimestats is what the Go runtime says about memory and
// scheduling, as the "runtime" member of a unikernel's GET /stats (and
// POST /debug/gc's answer) shows it.
package runtimestats

import (
	"runtime"
	"runtime/metrics"

	"tamanet/unikernel/gcpolicy"
)

// heapLiveMetric is the runtime/metrics name of the live heap as of the
// last garbage collection.
const heapLiveMetric = "/gc/heap/live:bytes"

// Stats is the runtime's snapshot.
type Stats struct {
	// Mallocs and TotalAllocBytes count every heap allocation since boot
	// (objects and bytes); their deltas over a transfer divided by its
	// packets give allocations per packet.
	Mallocs         uint64 `json:"mallocs"`
	TotalAllocBytes uint64 `json:"total_alloc_bytes"`
	HeapAllocBytes  uint64 `json:"heap_alloc_bytes" metric:"gauge"`
	// HeapLiveBytes is the heap the last garbage collection found live
	// (runtime/metrics /gc/heap/live:bytes): right after a forced one
	// (POST /debug/gc) it is the heap in use, which a soak run watches.
	HeapLiveBytes uint64 `json:"heap_live_bytes" metric:"gauge"`
	GCCycles      uint64 `json:"gc_cycles"`
	Goroutines    uint64 `json:"goroutines" metric:"gauge"`
	// GOGC is the garbage collector's percentage (-1: off, collecting
	// only near MemoryLimitBytes; boot option gogc=).
	GOGC             int   `json:"gogc" metric:"gauge"`
	MemoryLimitBytes int64 `json:"memory_limit_bytes" metric:"gauge"`
	// SchedLatencies is how long goroutines waited to run, GCPauses how
	// long the world stopped for the garbage collector (runtime/metrics'
	// /sched/latencies and /sched/pauses/total/gc), in coarse buckets.
	SchedLatencies Histogram `json:"sched_latencies_seconds"`
	GCPauses       Histogram `json:"gc_pauses_seconds"`
}

// Read takes the snapshot, with the collector's pace as gcpolicy set it.
// It uses ReadMemStats, whose counts are exact (runtime/metrics leaves out
// tiny objects): the world stops for a moment, which on one CPU costs the
// same as any other goroutine running.
func Read(pace gcpolicy.Pace) Stats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	live := []metrics.Sample{{Name: heapLiveMetric}}
	metrics.Read(live)
	sched, gc := readRuntimeHistograms()
	return Stats{
		SchedLatencies:   sched,
		GCPauses:         gc,
		HeapLiveBytes:    live[0].Value.Uint64(),
		Mallocs:          m.Mallocs,
		TotalAllocBytes:  m.TotalAlloc,
		HeapAllocBytes:   m.HeapAlloc,
		GCCycles:         uint64(m.NumGC),
		GOGC:             pace.GOGC,
		MemoryLimitBytes: pace.MemoryLimit,
		Goroutines:       uint64(runtime.NumGoroutine()),
	}
}
