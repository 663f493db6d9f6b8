// Package hist records latencies in an HDR histogram
// (github.com/HdrHistogram/hdrhistogram-go) with nanosecond resolution and
// summarises them in microseconds.
package hist

import (
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tamanet/cmd/tamabench/internal/result"
)

// Range and precision: 1 ns to 100 s at 3 significant digits (0.1 %).
const (
	lowest  = 1
	highest = int64(100 * time.Second)
	digits  = 3
)

// Histogram is a latency histogram. It is not safe for concurrent use: give
// each worker its own and Merge them.
type Histogram struct {
	h *hdr.Histogram
	// Clamped counts values outside [1 ns, 100 s], recorded at the bound.
	Clamped int64
}

// New returns an empty histogram.
func New() *Histogram { return &Histogram{h: hdr.New(lowest, highest, digits)} }

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	switch {
	case v < lowest:
		v = lowest
		h.Clamped++
	case v > highest:
		v = highest
		h.Clamped++
	}
	// In range by construction, so RecordValue cannot fail.
	_ = h.h.RecordValue(v)
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	h.h.Merge(o.h)
	h.Clamped += o.Clamped
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the latency at quantile q in [0, 1].
func (h *Histogram) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(q * 100))
}

// Summary returns min, mean, p50, p90, p99, p99.9 and max in microseconds,
// or nil for an empty histogram.
func (h *Histogram) Summary() *result.Latency {
	if h.Count() == 0 {
		return nil
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return &result.Latency{
		Min:  us(h.h.Min()),
		Mean: h.h.Mean() / 1e3,
		P50:  us(h.h.ValueAtQuantile(50)),
		P90:  us(h.h.ValueAtQuantile(90)),
		P99:  us(h.h.ValueAtQuantile(99)),
		P999: us(h.h.ValueAtQuantile(99.9)),
		Max:  us(h.h.Max()),
	}
}

// Point is one step of a cumulative distribution: the fraction Q of values
// at or below US microseconds.
type Point struct {
	US, Q float64
}

// CDF returns the cumulative distribution, one point per distinct histogram
// bucket that holds values, ending at Q == 1.
func (h *Histogram) CDF() []Point {
	total := h.Count()
	if total == 0 {
		return nil
	}
	var pts []Point
	var below int64
	for _, b := range h.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		below += b.Count
		pts = append(pts, Point{US: float64(b.To) / 1e3, Q: float64(below) / float64(total)})
	}
	return pts
}

// Encode returns the histogram in the HdrHistogram V2 compressed base64
// encoding.
func (h *Histogram) Encode() (string, error) {
	b, err := h.h.Encode(hdr.V2CompressedEncodingCookieBase)
	return string(b), err
}

// Decode parses the output of Encode.
func Decode(s string) (*Histogram, error) {
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("hdr histogram: %w", err)
	}
	return &Histogram{h: h}, nil
}
