// Package compare turns tamabench results of several targets and rounds into
// a ratio table: per test and metric, the median across rounds of each
// target and its ratio to a base target (the Linux guest).
package compare

import (
	"fmt"
	"math"
	"sort"

	"tamanet/cmd/tamabench/internal/hist"
	"tamanet/cmd/tamabench/internal/result"
)

// metric extracts one figure of a test.
type metric struct {
	name, unit  string
	lowerBetter bool
	get         func(*result.Test) (float64, bool)
}

func lat(name string, f func(*result.Latency) float64) metric {
	return metric{name, "µs", true, func(t *result.Test) (float64, bool) {
		if t.Latency == nil {
			return 0, false
		}
		return f(t.Latency), true
	}}
}

var (
	p50  = lat("p50", func(l *result.Latency) float64 { return l.P50 })
	p90  = lat("p90", func(l *result.Latency) float64 { return l.P90 })
	p99  = lat("p99", func(l *result.Latency) float64 { return l.P99 })
	p999 = lat("p99.9", func(l *result.Latency) float64 { return l.P999 })
	pmax = lat("max", func(l *result.Latency) float64 { return l.Max })
	rps  = metric{"rps", "req/s", false, func(t *result.Test) (float64, bool) { return t.RPS, t.Count > 0 }}
	mbps = metric{"MB/s", "MB/s", false, func(t *result.Test) (float64, bool) { return t.MBps, t.Count > 0 }}
	boot = metric{"boot", "ms", true, func(t *result.Test) (float64, bool) { return t.ElapsedMS, t.Count > 0 }}
	cpu  = metric{"cpu", "%core", true, func(t *result.Test) (float64, bool) { return t.CPUPercent, t.Count > 0 }}
)

// Names of the host CPU cost metrics: the guest's QEMU's vCPU thread and
// all its threads per unit of work.
const (
	MetricVCPU = "vCPU"
	MetricQEMU = "QEMU"
)

// cpuCosts are the host CPU cost metrics of a kind of test.
func cpuCosts(kind string) []metric {
	unit := result.CostUnit(kind)
	return []metric{
		{MetricVCPU, unit, true, func(t *result.Test) (float64, bool) {
			v, _, ok := t.CPUCost()
			return v, ok
		}},
		{MetricQEMU, unit, true, func(t *result.Test) (float64, bool) {
			_, q, ok := t.CPUCost()
			return q, ok
		}},
	}
}

// metricsOf lists the figures compared for a kind of test: the throughput
// tests with their host CPU cost, so a tie in rate at the device's limit
// still shows which stack does the work cheaper.
func metricsOf(kind string) []metric {
	switch kind {
	case result.KindLatency:
		return []metric{p50, p90, p99, p999, pmax}
	case result.KindRPS:
		return append([]metric{rps, p50, p99}, cpuCosts(kind)...)
	case result.KindBulk:
		return append([]metric{mbps}, cpuCosts(kind)...)
	case result.KindBoot:
		return []metric{boot}
	case result.KindIdle:
		return []metric{cpu}
	}
	return nil
}

// Row is one compared figure.
type Row struct {
	Target      string  `json:"target"` // the non-base target
	Test        string  `json:"test"`
	Metric      string  `json:"metric"`
	Unit        string  `json:"unit"`
	LowerBetter bool    `json:"lower_better"`
	Base        float64 `json:"base_median"`
	Other       float64 `json:"median"`
	BaseRounds  int     `json:"base_rounds"`
	OtherRounds int     `json:"rounds"`
	// Ratio is Other/Base; NaN (JSON null) when Base is 0.
	Ratio float64 `json:"ratio"`
	// BaseErrors and Errors are the failed operations summed over rounds.
	BaseErrors uint64 `json:"base_errors"`
	Errors     uint64 `json:"errors"`
}

// Better names the target with the better median, or "=" on a tie.
func (r Row) Better(base string) string {
	switch {
	case r.Other == r.Base:
		return "="
	case (r.Other < r.Base) == r.LowerBetter:
		return r.Target
	}
	return base
}

// Table is the result of Compare.
type Table struct {
	Base    string         `json:"base"`
	Targets map[string]int `json:"rounds"` // target name -> result files
	Rows    []Row          `json:"rows"`
	// Phases are the boot phases of the targets that report them.
	Phases []PhaseRow `json:"boot_phases,omitempty"`
	// Tails are the tail causes of traced tests.
	Tails []TailRow `json:"tail_causes,omitempty"`
}

// Compare groups files by target name and compares every other target with
// base, test by test in the order tests first appear.
func Compare(files []*result.File, base string) (*Table, error) {
	by := map[string][]*result.File{}
	var names []string
	for _, f := range files {
		n := f.Target.Name
		if by[n] == nil {
			names = append(names, n)
		}
		by[n] = append(by[n], f)
	}
	if by[base] == nil {
		return nil, fmt.Errorf("no results for base target %q (have %v)", base, names)
	}
	if len(names) < 2 {
		return nil, fmt.Errorf("need results of a second target besides %q", base)
	}
	tab := &Table{Base: base, Targets: map[string]int{}}
	for _, n := range names {
		tab.Targets[n] = len(by[n])
	}
	for _, other := range names {
		if other == base {
			continue
		}
		for _, test := range testOrder(by[base], by[other]) {
			for _, m := range metricsOf(test.kind) {
				bv, be := collect(by[base], test.name, m)
				ov, oe := collect(by[other], test.name, m)
				if len(bv) == 0 || len(ov) == 0 {
					continue
				}
				r := Row{Target: other, Test: test.name, Metric: m.name, Unit: m.unit, LowerBetter: m.lowerBetter,
					Base: Median(bv), Other: Median(ov), BaseRounds: len(bv), OtherRounds: len(ov),
					BaseErrors: be, Errors: oe}
				r.Ratio = Ratio(r.Other, r.Base)
				tab.Rows = append(tab.Rows, r)
			}
		}
	}
	tab.Phases = BootPhases(files)
	tab.Tails = Tails(files)
	return tab, nil
}

type testID struct{ name, kind string }

func testOrder(groups ...[]*result.File) []testID {
	var ids []testID
	seen := map[string]bool{}
	for _, g := range groups {
		for _, f := range g {
			for _, t := range f.Tests {
				if !seen[t.Name] {
					seen[t.Name] = true
					ids = append(ids, testID{t.Name, t.Kind})
				}
			}
		}
	}
	return ids
}

// collect returns m of test in every file that has it with a value, and the
// errors of those tests summed.
func collect(files []*result.File, test string, m metric) ([]float64, uint64) {
	var vs []float64
	var errs uint64
	for _, f := range files {
		t := f.Find(test)
		if t == nil {
			continue
		}
		errs += t.Errors
		if v, ok := m.get(t); ok {
			vs = append(vs, v)
		}
	}
	return vs, errs
}

// Median returns the median of vs (the mean of the middle two for an even
// count), or NaN for none. vs is not modified.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Ratio returns a/b, or NaN when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// MergeHDR merges the latency histograms of test across target's rounds.
// It returns nil if no round recorded one.
func MergeHDR(files []*result.File, target, test string) (*hist.Histogram, error) {
	var all *hist.Histogram
	for _, f := range files {
		if f.Target.Name != target {
			continue
		}
		t := f.Find(test)
		if t == nil || t.HDR == "" {
			continue
		}
		h, err := hist.Decode(t.HDR)
		if err != nil {
			return nil, fmt.Errorf("%s round %d %s: %w", target, f.Round, test, err)
		}
		if all == nil {
			all = h
		} else {
			all.Merge(h)
		}
	}
	return all, nil
}
