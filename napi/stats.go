package napi

import (
	"math/bits"
	"strconv"
	"sync/atomic"
)

// HistogramBuckets is the number of packets-per-poll buckets: 0, 1, 2-3, 4-7,
// 8-15, 16-31, 32-63 and 64 or more.
const HistogramBuckets = 8

// Stats is a snapshot of an instance's counters.
type Stats struct {
	// IRQs counts Schedule calls (one per device interrupt that found
	// receive or transmit work).
	IRQs uint64
	// Polls counts calls to Poller.Poll.
	Polls uint64
	// Packets is the sum of the work Poll reported.
	Packets uint64
	// BudgetExhaustions counts ModeNAPI rounds that used their whole budget
	// and were followed by another round without re-arming interrupts.
	BudgetExhaustions uint64
	// Completions counts rounds that re-armed interrupts: in ModeNAPI those
	// that finished under budget, in ModeInterrupt every round.
	Completions uint64
	// MissedRepolls counts rounds repeated because Schedule was called while
	// a poll was running (the MISSED bit).
	MissedRepolls uint64
	// PollSizes counts polls by packets harvested.
	PollSizes PollHistogram
}

// PollHistogram is the distribution of packets harvested per poll.
type PollHistogram struct {
	// Buckets[i] counts polls whose work was in [2^(i-1), 2^i) for
	// 1 <= i < 7; bucket 0 holds zero and bucket 7 holds 64 or more.
	// BucketLabel names them.
	Buckets [HistogramBuckets]uint64
	// Packets is the sum of the work of those polls (Stats.Packets).
	Packets uint64
}

// StatsHistogram implements tamanet/expose's Histogram: the upper bounds
// are 0, 1, 3, 7, ..., 63 packets, and the last bucket holds the rest.
func (h PollHistogram) StatsHistogram() (upper []float64, counts []uint64, sum float64) {
	upper = make([]float64, HistogramBuckets-1)
	for i := range upper {
		upper[i] = float64(int(1)<<i - 1)
	}
	return upper, h.Buckets[:], float64(h.Packets)
}

// BucketLabel names histogram bucket i ("0", "1", "2-3", ..., "64+").
func BucketLabel(i int) string {
	switch {
	case i <= 0:
		return "0"
	case i == 1:
		return "1"
	case i >= HistogramBuckets-1:
		return strconv.Itoa(1<<(HistogramBuckets-2)) + "+"
	}
	return strconv.Itoa(1<<(i-1)) + "-" + strconv.Itoa(1<<i-1)
}

// bucket maps a poll's work to its histogram bucket.
func bucket(work int) int {
	b := bits.Len(uint(work))
	if b > HistogramBuckets-1 {
		b = HistogramBuckets - 1
	}
	return b
}

// counters is the live, atomically updated form of Stats.
type counters struct {
	irqs, polls, packets                    atomic.Uint64
	exhaustions, completions, missedRepolls atomic.Uint64
	hist                                    [HistogramBuckets]atomic.Uint64
}

// record accounts one Poll call that did work packets.
func (c *counters) record(work int) {
	c.polls.Add(1)
	c.packets.Add(uint64(work))
	c.hist[bucket(work)].Add(1)
}

// Stats returns a snapshot of the counters. Counters are read one by one, so
// a snapshot taken while polling may be a few events apart between fields.
func (n *Instance) Stats() Stats {
	c := &n.ctr
	s := Stats{
		IRQs:              c.irqs.Load(),
		Polls:             c.polls.Load(),
		Packets:           c.packets.Load(),
		BudgetExhaustions: c.exhaustions.Load(),
		Completions:       c.completions.Load(),
		MissedRepolls:     c.missedRepolls.Load(),
	}
	for i := range c.hist {
		s.PollSizes.Buckets[i] = c.hist[i].Load()
	}
	s.PollSizes.Packets = s.Packets
	return s
}
