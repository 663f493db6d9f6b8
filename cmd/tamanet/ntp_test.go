//go:build !tamago

package main

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"tamanet/sntp"
	"tamanet/sntp/sntptest"
	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// ntpOffset is how far the test's SNTP server runs ahead of the host.
const ntpOffset = time.Hour

// rtcError bounds the guest's wall clock against the host's before SNTP,
// as kernel/kernelcheck's test does: QEMU starts its RTC at the host's
// time less its fraction of a second, the RTC counts whole seconds and
// the kernel takes the middle of the one it reads (1.5 s behind to 0.5 s
// ahead), plus the TSC's calibration error over the boot.
const rtcError = 2 * time.Second

// clockDrift bounds how far the guest's clock may run from the host's
// between its sync and the test's look at it (the TSC calibration is
// checked to 1%, against seconds here).
const clockDrift = 500 * time.Millisecond

// ntpDoc is what GET /stats says of the wall clock and the SNTP client.
type ntpDoc struct {
	System struct {
		WallClock struct {
			Now        string  `json:"now"`
			NowSeconds float64 `json:"now_seconds"`
			Source     string  `json:"source"`
			RTC        string  `json:"rtc"`
		} `json:"wall_clock"`
		NTP *struct {
			Server        string  `json:"server"`
			OffsetSeconds float64 `json:"offset_seconds"`
			DelaySeconds  float64 `json:"delay_seconds"`
			Stratum       int     `json:"stratum"`
			LastSync      string  `json:"last_sync"`
			LastError     string  `json:"last_error"`
			Queries       uint64  `json:"queries"`
			Syncs         uint64  `json:"syncs"`
			Failures      uint64  `json:"failures"`
		} `json:"ntp"`
	} `json:"system"`
}

// TestNTPTap boots the unikernel with ntp=10.0.2.2 on a tap in a namespace
// of its own, where an SNTP server answers with the host's clock plus an
// hour: the guest steps its wall clock by that offset (as it measured it,
// within the RTC's error of the hour), /stats and /metrics show the
// server, the offset, the round trip and no error, and the guest's wall
// clock then reads the server's time. The first exchange waits for ARP
// behind QEMU's e1000 receive hold, so its round trip is long and the
// client asks again 16 s later: the clock must read the server's time
// after that sync too. Comparisons are between real clocks, widened by
// the round trip the guest measured, never on how long anything took.
func TestNTPTap(t *testing.T) {
	vmtest.RequireTap(t)
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	g := vmtest.Start(t, vm.Config{Image: image, Network: vm.Tap, Cmdline: "ntp=10.0.2.2"})
	// The namespace is up; the guest asks once its stack is.
	dialer := vm.NewNetnsDialer(g.Netns)
	pc, err := dialer.ListenPacket("udp4", "10.0.2.2:123")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	srv := sntptest.Serve(pc, func() time.Time { return time.Now().Add(ntpOffset) }, nil)
	ready := awaitReady(t, g)
	if i := strings.LastIndex(ready.Text, "; clock "); i >= 0 {
		if c, err := time.Parse(time.RFC3339Nano, ready.Text[i+len("; clock "):]); err == nil {
			t.Logf("READY's clock (the RTC's) %v after QEMU's start, %v before the line arrived (host clock)",
				c.Sub(g.Start).Round(time.Millisecond), ready.At.Sub(c).Round(time.Millisecond))
		}
	}
	line := vmtest.Await(t, g, "sntp 10.0.2.2:123: clock stepped by", 0, readyTimeout)
	t.Logf("%s (%d requests)", line.Text, len(srv.Requests()))

	tg := &guest{vm: g, base: g.URL(httpPort, ""),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: dialer.DialContext}}}
	defer tg.client.CloseIdleConnections()
	s, before, after := getNTPDoc(t, tg)
	checkNTPMetrics(t, tg)
	w, n := s.System.WallClock, s.System.NTP
	if n.Server != "10.0.2.2:123" || n.Syncs < 1 || n.Queries != n.Syncs+n.Failures || n.LastError != "" ||
		n.Stratum != 2 || n.LastSync == "" || w.Source != "ntp" || w.RTC == "" {
		t.Errorf("system.ntp %+v, wall clock source %q: want server 10.0.2.2:123 synced at stratum 2, no error", *n, w.Source)
	}
	halfRTT := time.Duration(n.DelaySeconds * float64(time.Second) / 2)
	offset := time.Duration(n.OffsetSeconds * float64(time.Second))
	if d := (offset - ntpOffset).Abs(); d > rtcError+halfRTT {
		t.Errorf("offset %v, want %v within %v (RTC) + %v (half the round trip)", offset, ntpOffset, rtcError, halfRTT)
	}
	checkSynced(t, s, before, after)

	if n.DelaySeconds <= sntp.DefaultGoodDelay.Seconds() || n.Syncs > 1 {
		return
	}
	// The slow first sample brings a second query after sntp.MinRetry.
	deadline := time.Now().Add(readyTimeout)
	for n.Syncs < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no second sync within %v of the first, whose round trip was %.3f s: %+v", readyTimeout, n.DelaySeconds, *n)
		}
		time.Sleep(time.Second)
		s, before, after = getNTPDoc(t, tg)
		n = s.System.NTP
	}
	t.Logf("second sync: offset %.3f s (the first sync's error), round trip %.3f s", n.OffsetSeconds, n.DelaySeconds)
	checkSynced(t, s, before, after)
}

// getNTPDoc GETs /stats, with the host's clock just before and after.
func getNTPDoc(t *testing.T, g *guest) (s ntpDoc, before, after time.Time) {
	t.Helper()
	before = time.Now()
	body := g.get(t, "/stats")
	after = time.Now()
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.System.NTP == nil {
		t.Fatal("/stats has no system.ntp")
	}
	t.Logf("system.wall_clock %+v, system.ntp %+v", s.System.WallClock, *s.System.NTP)
	return s, before, after
}

// checkSynced checks that the guest's wall clock in s, read between the
// host's before and after, is the server's time: the host's plus
// ntpOffset, within half the last sync's round trip and the drift since.
func checkSynced(t *testing.T, s ntpDoc, before, after time.Time) {
	t.Helper()
	w, n := s.System.WallClock, s.System.NTP
	guest := time.Unix(0, int64(math.Round(w.NowSeconds*1e9)))
	t.Logf("guest clock %v from the server's at the middle of GET /stats",
		guest.Sub(before.Add(after.Sub(before)/2).Add(ntpOffset)).Round(time.Millisecond))
	slack := time.Duration(n.DelaySeconds*float64(time.Second)/2) + clockDrift
	lo, hi := before.Add(ntpOffset-slack), after.Add(ntpOffset+slack)
	if guest.Before(lo) || guest.After(hi) {
		t.Errorf("guest wall clock %s after the sync, want between %s and %s (host clock around GET /stats, plus %v, widened by %v)",
			w.Now, lo.UTC().Format(time.RFC3339Nano), hi.UTC().Format(time.RFC3339Nano), ntpOffset, slack)
	}
}

// The SNTP client's counters and gauges are in /metrics too (expose), the
// wall clock's source as an info gauge.
func checkNTPMetrics(t *testing.T, g *guest) {
	t.Helper()
	m := parseMetrics(t, g.get(t, "/metrics"))
	for _, name := range []string{"tamanet_ntp_syncs_total", "tamanet_ntp_offset_seconds", "tamanet_ntp_delay_seconds",
		"tamanet_wall_clock_now_seconds", "tamanet_wall_clock_source_info"} {
		if m[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if f := m["tamanet_wall_clock_source_info"]; f != nil && !hasLabels(f.GetMetric()[0], "source=ntp") {
		t.Errorf("tamanet_wall_clock_source_info %v, want source=ntp", f.GetMetric())
	}
}
