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
// /debug/pprof/profile on the admin listener while a bulk download keeps it
// busy, exactly as a user would: the runtime's timer tick must have sampled
// the CPU, the hottest functions must be the driver's, the netstack's and
// the runtime's real functions, not placeholders, and /stats must count the
// samples. How many samples a second the guest gets depends on how much
// CPU a loaded host gives QEMU: that is not asserted.
func (g *guest) testProfile(t *testing.T) {
	before := g.stats(t)
	ctx, cancel := context.WithCancel(context.Background())
	downloaded := make(chan int64, 1)
	flowing := make(chan struct{})
	go func() {
		var n int64
		defer func() { downloaded <- n }()
		req, _ := http.NewRequestWithContext(ctx, "GET", g.base+"/bytes?n=1073741824", nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		n, _ = io.Copy(firstWrite{io.Discard, flowing}, resp.Body)
	}()
	// The guest takes samples only while busy (the tick stops when it
	// idles): profile once the download flows.
	select {
	case <-flowing:
	case <-time.After(linkTimeout):
		cancel()
		t.Fatalf("the download sent nothing within %v", linkTimeout)
	}
	url := g.admin + "/debug/pprof/profile?seconds=" + strconv.Itoa(profileSeconds)
	var top pprofReport
	// A host loaded enough may leave QEMU so little CPU that a short
	// profile catches no busy tick: a few more, not a longer bound on time.
	for attempt := 1; attempt <= 3; attempt++ {
		if top = pprofTop(t, url); top.samples > 0 {
			break
		}
		t.Logf("profile %d of a busy guest has no samples: the host gave QEMU little CPU; again", attempt)
	}
	cancel()
	n := <-downloaded
	t.Logf("downloaded %d MB during the profile; go tool pprof -top:\n%s", n>>20, top.text)

	if top.samples == 0 {
		t.Errorf("no samples in a %d s profile of a busy CPU", profileSeconds)
	}
	ours := 0
	for _, fn := range top.funcs {
		if !symbolized.MatchString(fn) || placeholder.MatchString(fn) {
			t.Errorf("top function %q is not a symbolized function", fn)
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
	// Sampling ends with the profile: no sample is taken after it, however
	// long the tick keeps running. (That an idle guest takes no tick at
	// all is kernelcheck's idle test; its cost is a benchmark figure.)
	if d := g.stats(t).System.Tick.ProfileSamples - after.System.Tick.ProfileSamples; d != 0 {
		t.Errorf("%d profile samples taken after the profile ended", d)
	}

	for _, p := range []struct{ path, want string }{
		{"/debug/pprof/heap", "Type: inuse_space"},
		{"/debug/pprof/allocs", "Type: alloc_space"},
		{"/debug/pprof/goroutine", "Type: goroutine"},
	} {
		if top := pprofTop(t, g.admin+p.path); !strings.Contains(top.text, p.want) {
			t.Errorf("go tool pprof %s: no %q in\n%s", p.path, p.want, top.text)
		}
	}
	if s := string(g.getAdmin(t, "/debug/pprof/goroutine?debug=1")); !strings.Contains(s, "tamanet/napi.(*Instance).Run") {
		t.Errorf("goroutine profile without the NAPI poll loop:\n%s", s)
	}
}

// firstWrite passes writes to w and closes first at the first one.
type firstWrite struct {
	w     io.Writer
	first chan struct{}
}

func (f firstWrite) Write(p []byte) (int, error) {
	select {
	case <-f.first:
	default:
		close(f.first)
	}
	return f.w.Write(p)
}

// symbolized matches a function name from the image's symbol table: a Go
// function (package path, dot, name) or an assembly routine local to its
// file (internal/bytealg's memeqbody shows as "memeqbody"), not an address.
// placeholder matches the profiler's stand-ins for samples it could not
// attribute (runtime._System, runtime._ExternalCode, ...).
var (
	symbolized  = regexp.MustCompile(`^[A-Za-z_][\w.\-/]*(\.[\w(*)\[\]]+)?`)
	placeholder = regexp.MustCompile(`^runtime\._[A-Z]\w*$`)
)

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
