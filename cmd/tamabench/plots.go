//go:build linux

package main

import (
	"fmt"
	"path/filepath"
	"sort"

	"tamanet/cmd/tamabench/internal/compare"
	"tamanet/cmd/tamabench/internal/plot"
	"tamanet/cmd/tamabench/internal/result"
)

// writePlots draws, from files of one or more targets and rounds, a latency
// CDF and a latency-by-percentile plot per latency test (a curve per
// target, rounds merged) and the rps
// sweep (a line per target, median across rounds). It returns the files
// written.
func writePlots(dir, prefix, format string, files []*result.File) ([]string, error) {
	var targets, latTests []string
	seenT, seenL := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		if !seenT[f.Target.Name] {
			seenT[f.Target.Name] = true
			targets = append(targets, f.Target.Name)
		}
		for _, t := range f.Tests {
			if t.Kind == result.KindLatency && !seenL[t.Name] {
				seenL[t.Name] = true
				latTests = append(latTests, t.Name)
			}
		}
	}
	var written []string
	for _, test := range latTests {
		var curves []plot.Curve
		for _, tg := range targets {
			h, err := compare.MergeHDR(files, tg, test)
			if err != nil {
				return written, err
			}
			if h != nil {
				curves = append(curves, plot.Curve{Label: tg, Points: h.CDF(), Count: h.Count()})
			}
		}
		if len(curves) == 0 {
			continue // every operation failed: nothing to draw
		}
		for _, fig := range []struct {
			kind, title string
			draw        func(string, string, []plot.Curve) error
		}{
			{"cdf", "latency CDF: ", plot.LatencyCDF},
			{"pct", "latency by percentile: ", plot.LatencyPercentiles},
		} {
			path := filepath.Join(dir, fmt.Sprintf("%s%s-%s.%s", prefix, fig.kind, test, format))
			if err := fig.draw(path, fig.title+test, curves); err != nil {
				return written, err
			}
			written = append(written, path)
		}
	}
	var series []plot.Series
	for _, tg := range targets {
		if s := rpsSeries(files, tg); len(s.X) > 0 {
			series = append(series, s)
		}
	}
	if len(series) > 0 {
		path := filepath.Join(dir, fmt.Sprintf("%srps.%s", prefix, format))
		if err := plot.Throughput(path, "requests/s per concurrency (GET, keep-alive)", series); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// rpsSeries returns target's median rps per concurrency across rounds.
func rpsSeries(files []*result.File, target string) plot.Series {
	by := map[int][]float64{}
	for _, f := range files {
		if f.Target.Name != target {
			continue
		}
		for _, t := range f.Tests {
			if t.Kind == result.KindRPS && t.Count > 0 {
				by[t.Concurrency] = append(by[t.Concurrency], t.RPS)
			}
		}
	}
	levels := make([]int, 0, len(by))
	for c := range by {
		levels = append(levels, c)
	}
	sort.Ints(levels)
	s := plot.Series{Label: target}
	for _, c := range levels {
		s.X = append(s.X, float64(c))
		s.Y = append(s.Y, compare.Median(by[c]))
	}
	return s
}
