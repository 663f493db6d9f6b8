//go:build linux

package main

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "64K": 64 << 10, "8m": 8 << 20, "1G": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "1.5M", "M", "12X", "99999999999G"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestParseLevels(t *testing.T) {
	if got, err := parseLevels("1, 4,16,64"); err != nil || !reflect.DeepEqual(got, []int{1, 4, 16, 64}) {
		t.Fatalf("got %v %v", got, err)
	}
	for _, in := range []string{"", "0", "1,,2", "a", "5000"} {
		if _, err := parseLevels(in); err == nil {
			t.Errorf("parseLevels(%q) accepted", in)
		}
	}
}

func TestParseTests(t *testing.T) {
	got, err := parseTests("keepalive,rps")
	if err != nil || len(got) != 2 || !got["keepalive"] || !got["rps"] {
		t.Fatalf("got %v %v", got, err)
	}
	if all, _ := parseTests("all"); len(all) != len(allTests) {
		t.Fatalf("all = %v", all)
	}
	if _, err := parseTests("keepalive,bogus"); err == nil {
		t.Fatal("unknown test accepted")
	}
}

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ns := now.Add(-3 * time.Second).UnixNano()
	for in, want := range map[string]time.Time{
		"now":                         now,
		itoa(ns):                      time.Unix(0, ns),
		"2026-05-01T11:59:58.5Z":      time.Date(2026, 5, 1, 11, 59, 58, 5e8, time.UTC),
		"2026-05-01T13:59:58.5+02:00": time.Date(2026, 5, 1, 11, 59, 58, 5e8, time.UTC),
	} {
		if got, err := parseStart(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseStart(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", itoa(now.Add(time.Hour).UnixNano()), "1700"} {
		if _, err := parseStart(in, now); err == nil {
			t.Errorf("parseStart(%q) accepted", in)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080/", "http://localhost/x", "http://[::1]:80"} {
		if err := checkURL(ok, false); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"https://127.0.0.1/", "http://10.0.2.15/", "127.0.0.1:80", "http:///x"} {
		if checkURL(bad, false) == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
