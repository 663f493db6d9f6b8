package compare

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"tamanet/cmd/tamabench/internal/result"
)

// PhaseFirst200 is the boot test's own figure in the phase table: the first
// 200 the host received.
const PhaseFirst200 = "first_200"

// PhaseRow is one boot phase of one target: the median over rounds of its
// time since QEMU was launched.
type PhaseRow struct {
	Target string  `json:"target"`
	Phase  string  `json:"phase"`
	MS     float64 `json:"ms"`
	Rounds int     `json:"rounds"`
}

// BootPhases gathers the boot phases of every target that reports them,
// with the first 200 as the last phase, in the order of their medians.
func BootPhases(files []*result.File) []PhaseRow {
	type key struct{ target, phase string }
	vals := map[key][]float64{}
	var targets []string
	for _, f := range files {
		t := f.Find("boot")
		if t == nil || len(t.Phases) == 0 || t.Count == 0 {
			continue
		}
		if !hasTarget(targets, f.Target.Name) {
			targets = append(targets, f.Target.Name)
		}
		for _, p := range t.Phases {
			k := key{f.Target.Name, p.Name}
			vals[k] = append(vals[k], p.MS)
		}
		k := key{f.Target.Name, PhaseFirst200}
		vals[k] = append(vals[k], t.ElapsedMS)
	}
	var rows []PhaseRow
	for _, target := range targets {
		var rs []PhaseRow
		for k, v := range vals {
			if k.target == target {
				rs = append(rs, PhaseRow{Target: target, Phase: k.phase, MS: Median(v), Rounds: len(v)})
			}
		}
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].MS < rs[j].MS })
		rows = append(rows, rs...)
	}
	return rows
}

func hasTarget(ts []string, t string) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// WritePhases prints the boot phase table: per target, each phase's median
// time since QEMU was launched and the step from the phase before.
func WritePhases(w io.Writer, rows []PhaseRow) error {
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w, "boot phases: ms since QEMU was launched (median over rounds; guest phases placed on the host clock)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\tphase\tms\tstep\trounds\t\n")
	prev := ""
	var last float64
	for _, r := range rows {
		step := ""
		if r.Target == prev {
			step = fmt.Sprintf("+%.1f", r.MS-last)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%d\t\n", r.Target, r.Phase, r.MS, step, r.Rounds)
		prev, last = r.Target, r.MS
	}
	return tw.Flush()
}
