//go:build !tamago

package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"tamanet/unikernel/admin/admintest"
)

// testNoDebug: without boot option admin= nothing serves the debug routes.
func (g *guest) testNoDebug(t *testing.T) {
	admintest.ExpectNotServed(t, g.client, g.base)
	if s := g.stats(t); s.System.Admin != nil {
		t.Errorf("/stats admin %+v without admin=", s.System.Admin)
	}
}

// testDebugSurface: with admin= the admin listener serves the debug routes
// and refuses every request for more than its bounds with 400, and the
// application's port still answers 404 on all of them.
func (g *guest) testDebugSurface(t *testing.T) {
	admintest.ExpectNotServed(t, g.client, g.base)
	admintest.ExpectServed(t, g.client, g.admin)
	for _, r := range []struct{ method, path, want string }{
		// 2^24 events would be 384 MiB of a 1 GiB guest.
		{"POST", "/debug/trace/start?events=16777216", "events=\"16777216\": want a whole number in [1, 1048576]"},
		{"POST", "/debug/trace/start?events=0", "events="},
		{"GET", "/debug/pcap?packets=1000001", "packets="},
		{"GET", "/debug/pcap?seconds=601", "seconds="},
		{"GET", "/debug/pcap?snaplen=65536", "snaplen="},
		{"GET", "/debug/pprof/profile?seconds=61", "seconds=\"61\": want a whole number in [1, 60]"},
		{"GET", "/debug/pprof/trace?seconds=3600", "seconds="},
	} {
		code, body := admintest.Do(t, g.client, r.method, g.admin+r.path)
		if code != http.StatusBadRequest || !strings.Contains(body, r.want) {
			t.Errorf("admin %s %s: %d %q, want 400 with %q", r.method, r.path, code, body, r.want)
		}
	}
	// The guest goes on serving both ports.
	g.testRoot(t)
	var boot map[string]float64
	if err := json.Unmarshal(g.getAdmin(t, "/debug/boot"), &boot); err != nil || boot["uptime_seconds"] <= 0 {
		t.Errorf("admin GET /debug/boot after the refusals: %v %v", boot, err)
	}
	if a := g.stats(t).System.Admin; a == nil || a.Accepted == 0 || a.Refused != 0 {
		t.Errorf("/stats admin %+v, want connections accepted from the host and none refused", a)
	}
}
