// Package admintest checks a running unikernel's debug surface from the
// host, for the QEMU tests of every image: which ports serve the admin
// routes and which answer 404.
package admintest

import (
	"io"
	"net/http"
	"testing"
)

// Request is one request to a debug route.
type Request struct{ Method, Path string }

// Requests are one request to each of the admin listener's routes; each
// answers 200 there when the guest has a network stack to capture.
var Requests = []Request{
	{"GET", "/debug/pprof/"},
	{"GET", "/debug/pprof/cmdline"},
	{"GET", "/debug/pcap?packets=1&seconds=1"},
	{"POST", "/debug/gc"},
	{"POST", "/debug/trace/start"},
	{"POST", "/debug/trace/stop"},
	{"GET", "/debug/trace"},
	{"GET", "/debug/boot"},
}

// Do sends a request without a body and returns the status and the first
// 4 KiB of the body.
func Do(t testing.TB, c *http.Client, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// ExpectNotServed checks that base (http://HOST:PORT of an application
// port) answers 404 on every debug route.
func ExpectNotServed(t testing.TB, c *http.Client, base string) {
	t.Helper()
	for _, r := range Requests {
		if code, body := Do(t, c, r.Method, base+r.Path); code != http.StatusNotFound {
			t.Errorf("%s %s%s: %d %q, want 404", r.Method, base, r.Path, code, body)
		}
	}
}

// ExpectServed checks that base (the admin listener) answers 200 on every
// debug route.
func ExpectServed(t testing.TB, c *http.Client, base string) {
	t.Helper()
	for _, r := range Requests {
		if code, body := Do(t, c, r.Method, base+r.Path); code != http.StatusOK {
			t.Errorf("admin %s %s%s: %d %q, want 200", r.Method, base, r.Path, code, body)
		}
	}
}
