package result

import (
	"fmt"
	"io"
	"text/tabwriter"
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
	}
	return nil
}

func num(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}
