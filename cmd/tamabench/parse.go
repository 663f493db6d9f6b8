//go:build linux

package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseSize parses a byte count with an optional binary suffix: "4096",
// "64K", "8M", "1G" (KiB, MiB, GiB).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, num = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, num = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, num = 1<<30, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 || v > (1<<40)/mult {
		return 0, fmt.Errorf("bad size %q: want a positive count of bytes, optionally with K, M or G", s)
	}
	return v * mult, nil
}

// parseLevels parses a comma-separated list of positive concurrencies.
func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("bad concurrency %q in %q: want integers in [1, 4096]", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// allTests are the tests of a run, in the order they run.
var allTests = []string{"keepalive", "newconn", "tcpecho", "udpecho", "rps", "download", "upload"}

// parseTests parses a comma-separated subset of allTests ("all" for every
// one) into a set.
func parseTests(s string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "all" {
			for _, t := range allTests {
				want[t] = true
			}
			continue
		}
		known := false
		for _, t := range allTests {
			known = known || t == f
		}
		if !known {
			return nil, fmt.Errorf("unknown test %q: want all or some of %s", f, strings.Join(allTests, ","))
		}
		want[f] = true
	}
	return want, nil
}

// parseStart parses the instant a boot started: Unix time in nanoseconds
// (as from `date +%s%N`), RFC 3339, or "now".
func parseStart(s string, now time.Time) (time.Time, error) {
	if s == "now" || s == "" {
		return now, nil
	}
	if ns, err := strconv.ParseInt(s, 10, 64); err == nil {
		t := time.Unix(0, ns)
		if t.After(now) || now.Sub(t) > 24*time.Hour {
			return time.Time{}, fmt.Errorf("start %q is not within the last day: want Unix nanoseconds (date +%%s%%N)", s)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad start %q: want Unix nanoseconds, RFC 3339 or now", s)
	}
	return t, nil
}
