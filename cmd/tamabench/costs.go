//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"tamanet/cmd/tamabench/internal/costs"
)

// costsCmd prints a line per guest and round of the per-MB costs in the
// /stats files "interleave -S" saved under each DIR (stats/TARGET-rROUND.json):
// the base of make bench's costs.txt.
func costsCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tamabench costs", flag.ContinueOnError)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("costs: want DIR... (interleave -S output directories)")
	}
	fmt.Fprintf(stdout, "%-26s %-6s %-20s %-12s %s\n", "target", "round", "tx_doorbells_per_MB", "irqs_per_MB", "from")
	for _, dir := range fs.Args() {
		files, err := filepath.Glob(filepath.Join(dir, "stats", "*-r*.json"))
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("costs: no stats/*-r*.json in %s (interleave -S)", dir)
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".json")
			i := strings.LastIndex(name, "-r")
			target, round := name[:i], name[i+2:]
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			r, err := costs.Read(b)
			if err != nil {
				// One guest's unreadable /stats leaves the others' lines.
				fmt.Fprintf(stdout, "%-26s %-6s %-20s %-12s %v\n", target, round, "-", "-", err)
				continue
			}
			fmt.Fprintf(stdout, "%-26s %-6s %-20s %-12s %s\n", target, round, perMB(r.NotificationsPerMB), perMB(r.IRQsPerMB), r.From)
		}
	}
	return nil
}

// perMB prints a per-MB figure, "-" for one not reported.
func perMB(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}
