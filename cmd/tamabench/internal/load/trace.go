package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"tamanet/cmd/tamabench/internal/result"
	"tamanet/cmd/tamabench/internal/tail"
	"tamanet/lattrace"
)

// GuestTrace drives the unikernel's latency trace (POST
// /debug/trace/start and /stop, GET /debug/trace) around one test and
// places its events on the host's clock.
type GuestTrace struct {
	base   string
	c      *http.Client
	before ClockSample
}

// traceEvents is the ring's size: some seconds of a latency test at a
// dozen events per request.
const traceEvents = 1 << 18

// StartTrace reads the guest's clock and starts a trace. ok is false for a
// guest without one (the Linux baseline).
func StartTrace(ctx context.Context, base string) (g *GuestTrace, ok bool, err error) {
	clock, _, ok, err := GuestClock(ctx, base)
	if err != nil || !ok {
		return nil, false, err
	}
	g = &GuestTrace{base: base, before: clock,
		c: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: time.Minute}}
	if err := g.post(ctx, "/debug/trace/start?events="+strconv.Itoa(traceEvents)); err != nil {
		return nil, false, err
	}
	return g, true, nil
}

func (g *GuestTrace) post(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := g.c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s%s: %s", g.base, path, resp.Status)
	}
	return nil
}

// traceDoc is GET /debug/trace.
type traceDoc struct {
	Lost   uint64      `json:"lost"`
	Events [][3]uint64 `json:"events"` // ns since the VM started, kind, arg
}

// Finish stops the trace, reads it and returns its events on the host's
// clock, oldest first, with the number the ring lost. The guest's clock is
// read again: the two readings map guest time to host time, which also
// corrects the guest's small rate error.
func (g *GuestTrace) Finish(ctx context.Context) ([]tail.Event, uint64, error) {
	after, _, _, err := GuestClock(ctx, g.base)
	if err != nil {
		return nil, 0, err
	}
	if err := g.post(ctx, "/debug/trace/stop"); err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/debug/trace", nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := g.c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s/debug/trace: %s", g.base, resp.Status)
	}
	var doc traceDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, 0, fmt.Errorf("GET %s/debug/trace: %w", g.base, err)
	}
	place := guestToHost(g.before, after)
	evs := make([]tail.Event, len(doc.Events))
	for i, e := range doc.Events {
		evs[i] = tail.Event{At: place(time.Duration(e[0])), Kind: lattrace.Kind(e[1]), Arg: uint32(e[2])}
	}
	return evs, doc.Lost, nil
}

// guestToHost maps guest uptime to host time through two clock samples.
func guestToHost(a, b ClockSample) func(time.Duration) time.Time {
	rate := 1.0
	if dg := b.Guest - a.Guest; dg > 0 {
		rate = float64(b.Host.Sub(a.Host)) / float64(dg)
	}
	return func(g time.Duration) time.Time {
		return a.Host.Add(time.Duration(float64(g-a.Guest) * rate))
	}
}

// TailFraction is the share of a test's requests analysed as its tail.
const TailFraction = 0.001

// Traced runs a latency test with the guest's trace on (base is its HTTP
// root) and attaches the analysis of its slowest requests; with qemuPID
// (0: none) it also samples QEMU's threads' waits for a host CPU. A guest
// without a trace runs the test untraced.
func Traced(ctx context.Context, base string, qemuPID int, o Options, run func(Options) result.Test) result.Test {
	g, ok, err := StartTrace(ctx, base)
	if err != nil || !ok {
		t := run(o)
		if err != nil {
			t.TraceError = err.Error()
		}
		return t
	}
	var hw *HostWaits
	var hostErr error
	if qemuPID > 0 {
		hw, hostErr = StartHostWaits(qemuPID)
	}
	o.Samples = &Samples{}
	t := run(o)
	var host []tail.HostSample
	if hw != nil {
		host = hw.Stop()
	} else if hostErr != nil {
		t.TraceError = "no host waits: " + hostErr.Error()
	}
	evs, lost, err := g.Finish(ctx)
	if err != nil {
		t.TraceError = err.Error()
		return t
	}
	var reqs []tail.Request
	for _, s := range o.Samples.Take() {
		reqs = append(reqs, tail.Request{Start: s.Start, End: s.End})
	}
	sum := tail.Analyze(reqs, evs, host, TailFraction)
	sum.TraceLost = lost
	t.Tail = &sum
	return t
}
