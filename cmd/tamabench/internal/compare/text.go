package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"
)

// WriteText prints the table aligned, one row per figure.
func WriteText(w io.Writer, t *Table) error {
	names := make([]string, 0, len(t.Targets))
	for n := range t.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "base %s; rounds:", t.Base)
	for _, n := range names {
		fmt.Fprintf(w, " %s=%d", n, t.Targets[n])
	}
	fmt.Fprintln(w, "; medians across rounds, ratio = target/base")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\ttest\tmetric\tunit\t%s\ttarget\tratio\tbetter\terrors (base/target)\n", t.Base)
	for _, r := range t.Rows {
		ratio := "n/a"
		if !math.IsNaN(r.Ratio) {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\n", r.Target, r.Test, r.Metric, r.Unit,
			figure(r.Base), figure(r.Other), ratio, r.Better(t.Base), r.BaseErrors, r.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if hasCPUCost(t.Rows) {
		fmt.Fprintf(w, "metrics %s and %s: host CPU time of the guest's QEMU (its vCPU thread; all its threads) per unit of work over the measured window, lower is cheaper\n", MetricVCPU, MetricQEMU)
	}
	if len(t.Phases) > 0 {
		fmt.Fprintln(w)
	}
	if err := WritePhases(w, t.Phases); err != nil {
		return err
	}
	if len(t.Tails) > 0 {
		fmt.Fprintln(w)
	}
	return WriteTails(w, t.Tails)
}

func figure(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// MarshalJSON writes NaN ratios as null, which encoding/json cannot encode.
func (r Row) MarshalJSON() ([]byte, error) {
	type plain Row
	var ratio *float64
	if !math.IsNaN(r.Ratio) {
		ratio = &r.Ratio
	}
	return json.Marshal(struct {
		plain
		Ratio *float64 `json:"ratio"`
	}{plain(r), ratio})
}

func hasCPUCost(rows []Row) bool {
	for _, r := range rows {
		if r.Metric == MetricVCPU || r.Metric == MetricQEMU {
			return true
		}
	}
	return false
}
