//go:build !tamago

package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamanet/vm/vmtest"
)

// testNilDeref: a handler that dereferences nil costs its own request only.
// The CPU's page fault becomes a Go panic in the handler's goroutine, which
// net/http recovers and logs; the next request is served and /stats counts
// the panic.
func (g *guest) testNilDeref(t *testing.T) {
	before := g.stats(t).Service.HTTPPanics
	mark := g.vm.Console.Mark()
	// A connection of its own: a client retries an idempotent request
	// once when a reused connection closes without a response.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(g.base + "/test/nilderef")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET /test/nilderef answered %d %q; the handler should have panicked", resp.StatusCode, b)
	}
	g.testRoot(t)
	if n := g.stats(t).Service.HTTPPanics - before; n != 1 {
		t.Errorf("/stats counts %d handler panics, want 1", n)
	}
	vmtest.Await(t, g.vm, "http: panic serving", mark, linkTimeout)
	vmtest.Await(t, g.vm, "runtime error: invalid memory address or nil pointer dereference", mark, linkTimeout)
	vmtest.Await(t, g.vm, "tamanet/unikernel/testroutes.serveNilDeref", mark, linkTimeout)
}

// spinTime is how long GET /test/spin computes.
const spinTime = 2 * time.Second

// testSpin: while one handler computes for 2 s, keep-alive requests on
// another connection are still served: the timer tick preempts the
// computing goroutine after its 10 ms time slice, or at once when an
// interrupt waits. Without preemption the first request waits for the
// whole spin and none is answered while it runs. The test asserts those
// events (requests answered before the spin's own answer, asynchronous
// preemptions counted), not how fast: on a quiet host the requests stay
// under 50 ms, but a loaded host stalls a busy emulator for as long as it
// likes, so the latencies are logged beside the same requests' without
// the spin.
func (g *guest) testSpin(t *testing.T) {
	g.testRoot(t) // the keep-alive connection
	base := g.keepAliveLatency(t, 50, nil)
	before := g.stats(t).System.Tick
	mark := g.vm.Console.Mark()
	spun := make(chan string, 1)
	go func() {
		resp, err := http.Get(g.base + "/test/spin?ms=" + strconv.FormatInt(spinTime.Milliseconds(), 10))
		if err != nil {
			spun <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		spun <- string(b)
	}()
	// Measure from the moment the handler computes.
	vmtest.Await(t, g.vm, "tamanet: /test/spin computing", mark, linkTimeout)
	var result string
	during := g.keepAliveLatency(t, 0, func() bool {
		select {
		case result = <-spun:
			return true
		default:
			return false
		}
	})
	if !strings.HasPrefix(result, "spun ") {
		t.Fatalf("GET /test/spin: %s", result)
	}
	after := g.stats(t).System.Tick
	t.Logf("%s; keep-alive GETs before: %s; during: %s; %d preemption requests, %d asynchronous",
		strings.TrimSpace(result), base, during,
		after.PreemptRequests-before.PreemptRequests, after.AsyncPreempts-before.AsyncPreempts)
	// The last request may be the one the spin's end released; every
	// other one was answered while the handler computed.
	if len(during.lat) < 2 {
		t.Errorf("keep-alive requests during a %v spin: %s; none answered while it computed", spinTime, during)
	}
	if after.PreemptRequests == before.PreemptRequests || after.AsyncPreempts == before.AsyncPreempts {
		t.Errorf("no preemption counted during the spin: %+v then %+v", before, after)
	}
}

// latencies is a sorted set of request latencies.
type latencies struct{ lat []time.Duration }

func (l latencies) p(q float64) time.Duration { return l.lat[int(q*float64(len(l.lat)-1))] }

func (l latencies) String() string {
	return fmt.Sprintf("%d requests, p50 %v, p95 %v, max %v", len(l.lat), l.p(0.5), l.p(0.95), l.lat[len(l.lat)-1])
}

// keepAliveLatency times GET / on the keep-alive connection n times, or
// until done says to stop.
func (g *guest) keepAliveLatency(t *testing.T, n int, done func() bool) latencies {
	var l latencies
	for i := 0; n == 0 || i < n; i++ {
		start := time.Now()
		g.testRoot(t)
		l.lat = append(l.lat, time.Since(start))
		if done != nil && done() {
			break
		}
	}
	slices.Sort(l.lat)
	return l
}
