package ceiling

import (
	"fmt"

	"tamanet/cmd/tamabench/internal/compare"
)

// Share is one transfer of a benchmark run against one ceiling.
type Share struct {
	Target string  `json:"target"`
	Test   string  `json:"test"` // download or upload
	MBps   float64 `json:"mb_s"` // the transfer's median
	// Ceiling names the ceiling's rows; CeilingMBps is their median rate
	// over Rounds rounds, 0 if the run did not measure them.
	Ceiling     string  `json:"ceiling"`
	CeilingMBps float64 `json:"ceiling_mb_s"`
	Rounds      int     `json:"ceiling_rounds"`
	Percent     float64 `json:"percent"` // 100 MBps / CeilingMBps
}

// Matching ceilings: a download is the guest transmitting (as TSO
// super-frames with offloads on, as full frames without), an upload the
// guest receiving full frames.
var matching = map[string][]string{
	"download": {"tso", "tx-1514"},
	"upload":   {"sink-1514"},
}

// Shares puts every transfer of a ratio table (tamabench compare: the base
// target's median and each other target's) against its matching
// ceilings, in the table's order.
func Shares(tab *compare.Table, f *File) ([]Share, error) {
	var out []Share
	seen := map[string]bool{}
	add := func(target, test string, mbps float64) {
		if seen[target+" "+test] {
			return
		}
		seen[target+" "+test] = true
		for _, name := range matching[test] {
			s := Share{Target: target, Test: test, MBps: mbps, Ceiling: name}
			s.CeilingMBps, s.Rounds = f.CeilingMBps(name)
			if s.CeilingMBps > 0 {
				s.Percent = 100 * mbps / s.CeilingMBps
			}
			out = append(out, s)
		}
	}
	for _, r := range tab.Rows {
		if matching[r.Test] == nil || r.Metric != "MB/s" {
			continue
		}
		add(r.Target, r.Test, r.Other)
		add(tab.Base, r.Test, r.Base)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ceiling: the ratio table has no download or upload MB/s rows")
	}
	return out, nil
}
