package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tamanet/lattrace"
)

// fakeClock ticks 1000 a reading at 1 GHz, so a reading is nanoseconds
// since reset.
func fakeClock() Clock {
	var tsc atomic.Uint64
	return Clock{
		TSC:        func() uint64 { return tsc.Add(1000) },
		Hz:         func() uint64 { return 1e9 },
		SinceReset: func(t uint64) time.Duration { return time.Duration(t) },
	}
}

// The trace routes start a trace, stop it, and dump its events stamped by
// the clock they are given, with the kinds' names.
func TestTraceRoutes(t *testing.T) {
	srv := httptest.NewServer(Mux(TraceRoutes(fakeClock())))
	defer srv.Close()
	post := func(path string) (int, string) {
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, bad := range []string{"0", "-1", "x", "1048577"} {
		if code, body := post("/debug/trace/start?events=" + bad); code != http.StatusBadRequest {
			t.Errorf("events=%s: %d %q, want 400", bad, code, body)
		}
	}
	if code, body := post("/debug/trace/start?events=4"); code != http.StatusOK || !strings.Contains(body, "the last 1024 events") {
		t.Fatalf("start: %d %q", code, body)
	}
	lattrace.Record(lattrace.KindRx, 7)
	lattrace.Record(lattrace.KindAppRead, 100)
	if code, body := post("/debug/trace/stop"); code != http.StatusOK || body != "trace stopped: 2 events recorded\n" {
		t.Fatalf("stop: %d %q", code, body)
	}
	lattrace.Record(lattrace.KindRx, 8) // after stop: not recorded

	resp, err := http.Get(srv.URL + "/debug/trace")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dump struct {
		On       bool              `json:"on"`
		Recorded uint64            `json:"recorded"`
		Lost     uint64            `json:"lost"`
		TSCHz    uint64            `json:"tsc_hz"`
		Kinds    map[string]string `json:"kinds"`
		Events   [][3]uint64       `json:"events"`
		Uptime   float64           `json:"uptime_seconds"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&dump); err != nil {
		t.Fatal(err)
	}
	want := [][3]uint64{{1000, uint64(lattrace.KindRx), 7}, {2000, uint64(lattrace.KindAppRead), 100}}
	if dump.On || dump.Recorded != 2 || dump.Lost != 0 || dump.TSCHz != 1e9 || len(dump.Events) != 2 ||
		dump.Events[0] != want[0] || dump.Events[1] != want[1] {
		t.Errorf("dump %+v, want 2 events %v at 1 GHz", dump, want)
	}
	if dump.Kinds["1"] != lattrace.Kind(1).String() || dump.Uptime < 3e-6 {
		t.Errorf("kinds %v, uptime %v s: want names and the clock's last reading", dump.Kinds, dump.Uptime)
	}
}
