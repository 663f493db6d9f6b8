package compare

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"tamanet/cmd/tamabench/internal/result"
)

// TailRow is the tail analysis of one target's test summed over the rounds
// that traced it: how many requests were traced, how many formed the tail,
// and its causes with their counts.
type TailRow struct {
	Target   string         `json:"target"`
	Test     string         `json:"test"`
	Rounds   int            `json:"rounds"`
	Requests int            `json:"requests"`
	Slowest  int            `json:"slowest"`
	Causes   map[string]int `json:"causes"`
}

// Tails sums the traced tests' tail causes by target and test, in the
// order they first appear.
func Tails(files []*result.File) []TailRow {
	var rows []TailRow
	index := map[[2]string]int{}
	for _, f := range files {
		for _, t := range f.Tests {
			if t.Tail == nil {
				continue
			}
			k := [2]string{f.Target.Name, t.Name}
			i, ok := index[k]
			if !ok {
				i = len(rows)
				index[k] = i
				rows = append(rows, TailRow{Target: k[0], Test: k[1], Causes: map[string]int{}})
			}
			r := &rows[i]
			r.Rounds++
			r.Requests += t.Tail.Requests
			r.Slowest += t.Tail.Slowest
			for c, n := range t.Tail.Causes {
				r.Causes[c] += n
			}
		}
	}
	return rows
}

// WriteTails prints the tail causes, most frequent first.
func WriteTails(w io.Writer, rows []TailRow) error {
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w, "tail causes: the slowest 0.1% of traced requests by what the guest was doing (see cmd/tamabench/internal/tail)")
	for _, r := range rows {
		causes := make([]string, 0, len(r.Causes))
		for c := range r.Causes {
			causes = append(causes, c)
		}
		sort.Slice(causes, func(i, j int) bool {
			a, b := r.Causes[causes[i]], r.Causes[causes[j]]
			return a > b || a == b && causes[i] < causes[j]
		})
		parts := make([]string, len(causes))
		for i, c := range causes {
			parts[i] = fmt.Sprintf("%s %d", c, r.Causes[c])
		}
		if _, err := fmt.Fprintf(w, "%-16s %-16s %d of %d requests (%d rounds): %s\n",
			r.Target, r.Test, r.Slowest, r.Requests, r.Rounds, strings.Join(parts, ", ")); err != nil {
			return err
		}
	}
	return nil
}
