package admin

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"

	"tamanet/toolchain/tamagotest"
)

// TestDefaultServeMuxHasNoProfiles: a program that serves
// http.DefaultServeMux on its own port (http.ListenAndServe(addr, nil))
// finds no profile route there, although every image links this package.
func TestDefaultServeMuxHasNoProfiles(t *testing.T) {
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile", "/debug/pprof/heap", "/debug/pprof/symbol", "/debug/pprof/trace"} {
		if _, pattern := http.DefaultServeMux.Handler(httptest.NewRequest(http.MethodGet, path, nil)); pattern != "" {
			t.Errorf("http.DefaultServeMux serves GET %s (pattern %q)", path, pattern)
		}
	}
}

// TestImagesLeaveOutNetHTTPPprof: no package of the module links
// net/http/pprof, whose initialization registers the profiles on
// http.DefaultServeMux: not this one on the host, not any program built
// for GOOS=tamago.
func TestImagesLeaveOutNetHTTPPprof(t *testing.T) {
	host := exec.Command("go", "list", "-deps", ".")
	tamago := exec.Command(tamagotest.Go(t), "list", "-e", "-deps", "-tags", "linkcpuinit", "./...")
	tamago.Dir = tamagotest.RepoRoot(t)
	tamago.Env = tamagotest.Env()
	for _, cmd := range []*exec.Cmd{host, tamago} {
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, "tamanet/unikernel/admin") {
			t.Fatalf("%s does not list tamanet/unikernel/admin:\n%s", cmd, out)
		}
		if slices.Contains(deps, "net/http/pprof") {
			t.Errorf("%s lists net/http/pprof", cmd)
		}
	}
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodGet, url, nil)
}

func do(t *testing.T, method, url string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestProfileRoutes(t *testing.T) {
	_, base := serveAdmin(t, "127.0.0.1/32")
	if resp, body := get(t, base+"/debug/pprof/"); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `href="goroutine?debug=1"`) || !strings.Contains(body, `href="profile"`) {
		t.Errorf("index: %s %q, want links to the profiles", resp.Status, body)
	}
	gzipped := []byte{0x1f, 0x8b}
	for _, path := range []string{"heap?gc=1", "allocs", "goroutine", "threadcreate"} {
		resp, body := get(t, base+"/debug/pprof/"+path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/octet-stream" || !bytes.HasPrefix([]byte(body), gzipped) {
			t.Errorf("%s: %s %s, %d bytes, want a gzipped protobuf profile", path, resp.Status, resp.Header.Get("Content-Type"), len(body))
		}
	}
	if resp, body := get(t, base+"/debug/pprof/goroutine?debug=2"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "goroutine ") {
		t.Errorf("goroutine?debug=2: %s %q", resp.Status, body)
	}
	if resp, body := get(t, base+"/debug/pprof/trace?seconds=1"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "go 1.") {
		t.Errorf("trace?seconds=1: %s %q, want an execution trace", resp.Status, body[:min(len(body), 64)])
	}
	if _, body := get(t, base+"/debug/pprof/cmdline"); !strings.Contains(body, "admin.test") {
		t.Errorf("cmdline: %q, want the test binary", body)
	}
}

// TestSymbol: the functions at program counters, for go tool pprof's
// remote symbolization.
func TestSymbol(t *testing.T) {
	_, base := serveAdmin(t, "127.0.0.1/32")
	pc := reflect.ValueOf(TestSymbol).Pointer()
	want := fmt.Sprintf("num_symbols: 1\n%#x %s\n", pc, runtime.FuncForPC(pc).Name())
	query := fmt.Sprintf("%#x", pc)
	if _, body := get(t, base+"/debug/pprof/symbol?"+query+"+0x1"); body != want {
		t.Errorf("GET symbol: %q, want %q", body, want)
	}
	if _, body := do(t, http.MethodPost, base+"/debug/pprof/symbol", strings.NewReader(query)); body != want {
		t.Errorf("POST symbol: %q, want %q", body, want)
	}
	if _, body := get(t, base+"/debug/pprof/symbol"); body != "num_symbols: 1\n" {
		t.Errorf("GET symbol without counters: %q", body)
	}
}

// TestProfileRoutesRefuseBadInput: each refusal names what was wrong, marked
// for go tool pprof to print it.
func TestProfileRoutesRefuseBadInput(t *testing.T) {
	_, base := serveAdmin(t, "127.0.0.1/32")
	// A CPU profile already running: another is refused, not queued.
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer pprof.StopCPUProfile()
	for _, r := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"GET", "/debug/pprof/nosuch", "", http.StatusNotFound, `no profile "nosuch"`},
		{"GET", "/debug/pprof/goroutine?debug=3", "", http.StatusBadRequest, `debug="3": want a whole number in [0, 2]`},
		{"GET", "/debug/pprof/heap?gc=yes", "", http.StatusBadRequest, `gc="yes"`},
		{"GET", "/debug/pprof/heap?seconds=5", "", http.StatusBadRequest, "delta profiles are not served"},
		{"GET", "/debug/pprof/symbol?0x1+main", "", http.StatusBadRequest, `"main" is not a program counter`},
		{"POST", "/debug/pprof/symbol", strings.Repeat("0x1+", maxSymbolRequest/4+1), http.StatusRequestEntityTooLarge, "symbol: reading the request"},
		{"GET", "/debug/pprof/profile?seconds=1", "", http.StatusConflict, "profile: "},
	} {
		resp, body := do(t, r.method, base+r.path, strings.NewReader(r.body))
		if resp.StatusCode != r.code || !strings.Contains(body, r.want) || resp.Header.Get("X-Go-Pprof") == "" {
			t.Errorf("%s %s: %s %q (X-Go-Pprof %q), want %d with %q", r.method, r.path, resp.Status, body, resp.Header.Get("X-Go-Pprof"), r.code, r.want)
		}
	}
}
