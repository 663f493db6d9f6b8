package result

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"tamanet/cmd/tamabench/internal/tail"
)

// WriteTable prints f's tests as an aligned text table.
func WriteTable(w io.Writer, f *File) error {
	fmt.Fprintf(w, "target %s (http %s", f.Target.Name, f.Target.HTTP)
	if f.Target.TCPEcho != "" {
		fmt.Fprintf(w, ", tcp echo %s", f.Target.TCPEcho)
	}
	if f.Target.UDPEcho != "" {
		fmt.Fprintf(w, ", udp echo %s", f.Target.UDPEcho)
	}
	fmt.Fprintf(w, ") round %d\n", f.Round)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "test\tcount\terrors\tp50 µs\tp90 µs\tp99 µs\tp99.9 µs\tmax µs\trps\tMB/s\t")
	for _, t := range f.Tests {
		fmt.Fprintf(tw, "%s\t%d\t%d\t", t.Name, t.Count, t.Errors)
		if l := t.Latency; l != nil {
			fmt.Fprintf(tw, "%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t", l.P50, l.P90, l.P99, l.P999, l.Max)
		} else {
			fmt.Fprint(tw, "-\t-\t-\t-\t-\t")
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", num(t.RPS, "%.0f"), num(t.MBps, "%.2f"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeHostCPU(w, f.Tests); err != nil {
		return err
	}
	for _, t := range f.Tests {
		if t.Kind == KindBoot && t.Count > 0 {
			fmt.Fprintf(w, "%s: first 200 after %.0f ms (%d failed attempts before it)\n", t.Name, t.ElapsedMS, t.Errors)
		}
		if t.Kind == KindIdle && t.Count > 0 {
			fmt.Fprintf(w, "%s: QEMU used %.2f%% of a host core over %.0f s without traffic\n", t.Name, t.CPUPercent, t.DurationS)
		}
		if t.FirstError != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", t.Name, t.FirstError)
		}
		if t.HostCPU != nil && t.HostCPU.Error != "" {
			fmt.Fprintf(w, "%s: no %s\n", t.Name, t.HostCPU.Error)
		}
		if t.TraceError != "" {
			fmt.Fprintf(w, "%s: no trace: %s\n", t.Name, t.TraceError)
		}
		if t.Tail != nil {
			writeTail(w, t.Name, t.Tail)
		}
	}
	return nil
}

// writeHostCPU prints the tests' host CPU costs, if any were measured: per
// test, how busy the guest's QEMU kept the host over the measured window
// and its CPU time per unit of work.
func writeHostCPU(w io.Writer, tests []Test) error {
	var rows []Test
	for _, t := range tests {
		if _, _, ok := t.CPUCost(); ok {
			rows = append(rows, t)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w, "host CPU of the guest's QEMU over each measured window: its vCPU thread and all its threads (busy: % of a host core; per MB or request: lower is cheaper)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "test\tvCPU busy\tQEMU busy\tvCPU\tQEMU\tunit\t")
	for _, t := range rows {
		vcpu, qemu, _ := t.CPUCost()
		busy := func(ns int64) float64 { return 100 * float64(ns) / 1e9 / t.DurationS }
		fmt.Fprintf(tw, "%s\t%.0f%%\t%.0f%%\t%.2f\t%.2f\t%s\t\n", t.Name, busy(t.HostCPU.VCPUNS), busy(t.HostCPU.QEMUNS), vcpu, qemu, CostUnit(t.Kind))
	}
	return tw.Flush()
}

// writeTail prints a traced test's tail: the causes with their counts, the
// median request's and the slowest requests' time by guest state.
func writeTail(w io.Writer, name string, s *tail.Summary) {
	fmt.Fprintf(w, "%s: slowest %d of %d traced requests (>= %.0f µs), causes:", name, s.Slowest, s.Requests, us(s.Threshold))
	causes := make([]string, 0, len(s.Causes))
	for c := range s.Causes {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool {
		return s.Causes[causes[i]] > s.Causes[causes[j]] || s.Causes[causes[i]] == s.Causes[causes[j]] && causes[i] < causes[j]
	})
	for _, c := range causes {
		fmt.Fprintf(w, " %s %d", c, s.Causes[c])
	}
	fmt.Fprintf(w, " (%d requests before the trace, %d events lost)\n", s.Uncovered, s.TraceLost)
	row := func(label string, lat, host time.Duration, states, stages map[string]time.Duration, extra string) {
		fmt.Fprintf(w, "  %-8s %8.0f µs: host wait %.0f; states", label, us(lat), us(host))
		for _, st := range tail.States {
			fmt.Fprintf(w, " %s %.0f", st, us(states[st]))
		}
		fmt.Fprint(w, "; stages")
		for _, st := range tail.Stages {
			fmt.Fprintf(w, " %s %.0f", st, us(stages[st]))
		}
		fmt.Fprintf(w, "%s\n", extra)
	}
	var med time.Duration
	for _, st := range tail.States {
		med += s.Median[st]
	}
	row("median", s.MedianLatency, s.HostWait, s.Median, s.MedianStages, "")
	for i, b := range s.Worst {
		gc := ""
		if b.GC {
			gc = ", gc"
		}
		row(fmt.Sprintf("slow %d", i+1), b.Latency, b.HostVCPU+b.HostMain, b.States, b.Stages, fmt.Sprintf(" -> %s%s", b.Cause, gc))
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func num(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}
