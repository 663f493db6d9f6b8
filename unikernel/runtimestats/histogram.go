package runtimestats

import (
	"math"
	"runtime/metrics"
	"time"
)

// The runtime's latency histograms for GET /stats.
const (
	metricSchedLatencies = "/sched/latencies:seconds"
	metricGCPauses       = "/sched/pauses/total/gc:seconds"
)

// runtimeBounds are the upper bounds of Histogram's buckets: the
// runtime's own have about 160 between 1 ns and hours, too many to read in
// a JSON document. GET /metrics has them at full resolution
// (go_sched_latencies_seconds, go_sched_pauses_total_gc_seconds).
var runtimeBounds = []time.Duration{
	time.Microsecond, 10 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond,
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond,
}

// Histogram is one of the runtime's time histograms in runtimeBounds. The
// runtime keeps no sum, so Sum is estimated from the middle of each of its
// own buckets.
type Histogram struct {
	Counts [14]uint64 // len(runtimeBounds)+1: the last counts longer times
	Sum    float64
}

// StatsHistogram implements expose.Histogram, in seconds.
func (h Histogram) StatsHistogram() ([]float64, []uint64, float64) {
	upper := make([]float64, len(runtimeBounds))
	for i, b := range runtimeBounds {
		upper[i] = b.Seconds()
	}
	return upper, h.Counts[:], h.Sum
}

// rebucket folds a runtime histogram (seconds) into runtimeBounds: each of
// its buckets [lo, hi) counts in the first bound at or above hi.
func rebucket(src *metrics.Float64Histogram) Histogram {
	var h Histogram
	j := 0
	for i, n := range src.Counts {
		lo, hi := src.Buckets[i], src.Buckets[i+1]
		for j < len(runtimeBounds) && runtimeBounds[j].Seconds() < hi {
			j++
		}
		h.Counts[j] += n
		mid := lo
		switch {
		case math.IsInf(lo, -1):
			mid = hi
		case !math.IsInf(hi, 1):
			mid = (lo + hi) / 2
		}
		if n > 0 {
			h.Sum += float64(n) * mid
		}
	}
	return h
}

// readRuntimeHistograms reads the scheduling latency and GC pause
// histograms from runtime/metrics.
func readRuntimeHistograms() (sched, gc Histogram) {
	s := []metrics.Sample{{Name: metricSchedLatencies}, {Name: metricGCPauses}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindFloat64Histogram {
		sched = rebucket(s[0].Value.Float64Histogram())
	}
	if s[1].Value.Kind() == metrics.KindFloat64Histogram {
		gc = rebucket(s[1].Value.Float64Histogram())
	}
	return sched, gc
}
