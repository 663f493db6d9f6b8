//go:build !tamago

package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// profileSeconds is the length of the CPU profile taken during a download.
const profileSeconds = 3

// testProfile runs `go tool pprof` against the unikernel's
// /debug/pprof/profile while a bulk download keeps it busy, exactly as a
// user would: the runtime's timer tick must have sampled the CPU, and the
// hottest functions must be the driver's, the netstack's and the runtime's
// real functions, not placeholders.
func (g *guest) testProfile(t *testing.T) {
	before := g.stats(t)
	ctx, cancel := context.WithCancel(context.Background())
	downloaded := make(chan int64, 1)
	go func() {
		var n int64
		defer func() { downloaded <- n }()
		req, _ := http.NewRequestWithContext(ctx, "GET", g.base+"/bytes?n=1073741824", nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		n, _ = io.Copy(io.Discard, resp.Body)
	}()
	url := g.base + "/debug/pprof/profile?seconds=" + strconv.Itoa(profileSeconds)
	top := pprofTop(t, url)
	cancel()
	n := <-downloaded
	t.Logf("downloaded %d MB during the profile; go tool pprof -top:\n%s", n>>20, top.text)

	if top.samples < profileSeconds*100/2 {
		t.Errorf("%d samples in %d s at 100 Hz of a busy CPU", top.samples, profileSeconds)
	}
	ours := 0
	for _, fn := range top.funcs {
		if !realFunction.MatchString(fn) {
			t.Errorf("top function %q is not a Go function", fn)
		}
		if strings.HasPrefix(fn, "tamanet/") || strings.HasPrefix(fn, "gvisor.dev/gvisor/") {
			ours++
		}
	}
	if len(top.funcs) < 10 || ours < 3 {
		t.Errorf("top %d functions hold %d of tamanet's and gVisor's", len(top.funcs), ours)
	}
	after := g.stats(t)
	if d := after.System.Tick.ProfileSamples - before.System.Tick.ProfileSamples; d < uint64(top.samples) {
		t.Errorf("/stats counts %d profile samples, the profile has %d", d, top.samples)
	}
	// The tick runs only while there is work: a second later, with the
	// guest idle but for the watchdog and these requests, it is a small
	// fraction of the 1000 that 2 s of busy CPU take.
	time.Sleep(time.Second)
	idle := g.stats(t)
	time.Sleep(2 * time.Second)
	if d := g.stats(t).System.Tick.Ticks - idle.System.Tick.Ticks; d > 100 {
		t.Errorf("%d ticks in 2 s with neither profiling nor load", d)
	}

	for _, p := range []struct{ path, want string }{
		{"/debug/pprof/heap", "Type: inuse_space"},
		{"/debug/pprof/allocs", "Type: alloc_space"},
		{"/debug/pprof/goroutine", "Type: goroutine"},
	} {
		if top := pprofTop(t, g.base+p.path); !strings.Contains(top.text, p.want) {
			t.Errorf("go tool pprof %s: no %q in\n%s", p.path, p.want, top.text)
		}
	}
	if s := string(g.get(t, "/debug/pprof/goroutine?debug=1")); !strings.Contains(s, "tamanet/napi.(*Instance).Run") {
		t.Errorf("goroutine profile without the NAPI poll loop:\n%s", s)
	}
}

// realFunction matches a symbolized Go function name (package path, dot,
// name), not an address or one of the profiler's stand-ins
// (runtime._System, runtime._ExternalCode).
var realFunction = regexp.MustCompile(`^[a-z][\w.\-/]*\.[\w(*)\[\]]+`)

type pprofReport struct {
	text    string
	samples int      // CPU profiles: total samples
	funcs   []string // functions in -top order
}

// pprofTop runs `go tool pprof -top` on a URL with the host's Go.
func pprofTop(t *testing.T, url string) pprofReport {
	t.Helper()
	cmd := exec.Command("go", "tool", "pprof", "-top", "-nodecount=10", url)
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	r := pprofReport{text: string(out)}
	if err != nil {
		t.Fatalf("go tool pprof %s: %v\n%s", url, err, out)
	}
	// "Duration: 3s, Total samples = 2.85s (94.81%)": 10 ms per sample.
	if m := regexp.MustCompile(`Total samples = ([\d.]+)(m?s)`).FindStringSubmatch(r.text); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		if m[2] == "ms" {
			v /= 1000
		}
		r.samples = int(v*100 + 0.5)
	}
	rows := false
	for _, line := range strings.Split(r.text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == "flat" {
			rows = true
			continue
		}
		if rows && len(f) >= 6 {
			r.funcs = append(r.funcs, f[5])
		}
	}
	return r
}
