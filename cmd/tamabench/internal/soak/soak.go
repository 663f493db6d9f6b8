// Package soak runs tamabench's long mixed load against a target serving
// cmd/internal/service, flaps its link now and then through QEMU's monitor,
// samples the target's /stats, and judges the run: nothing may leak (heap
// after a forced collection, goroutines), no checked byte may be wrong, and
// no request may fail outside a link flap.
//
// The load, all at once for the whole run: keep-alive and new-connection
// GET /, downloads (GET /bytes) and uploads (POST /echo) checked by
// SHA-256, TCP echo and UDP echo with every byte compared, and a set of
// idle TCP echo connections that must still echo at the end.
package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"tamanet/vm/qmp"
)

// Config is a soak run's target and shape. Zero durations and counts take
// the defaults in Defaults.
type Config struct {
	// HTTP, TCP and UDP are the target's addresses (host:port), Admin
	// its admin listener's (boot option admin=), which forces the
	// collections the live heap is read after.
	HTTP, TCP, UDP, Admin string
	// QMP is the QEMU monitor socket and NetDev the netdev to flap; an
	// empty QMP runs without flaps.
	QMP, NetDev string
	// Duration is the run's length; Sample the period of /stats samples.
	Duration, Sample time.Duration
	// FlapEvery is the period of link flaps, FlapDown how long the link
	// stays down, FlapGrace how long after it comes back failures are
	// still blamed on the flap (TCP retransmission backs off while the
	// link is down).
	FlapEvery, FlapDown, FlapGrace time.Duration
	// Idle is the number of idle TCP echo connections held open.
	Idle int
	// BulkBytes is the size of each download and upload.
	BulkBytes int64
	// Timeout bounds each request (a bulk transfer gets ten times it).
	Timeout time.Duration
	// Log, if set, receives a line per sample and per flap.
	Log io.Writer
}

// Defaults are what zero Config fields become.
var Defaults = Config{
	NetDev:    "net0",
	Duration:  10 * time.Minute,
	Sample:    10 * time.Second,
	FlapEvery: 30 * time.Second,
	FlapDown:  2 * time.Second,
	FlapGrace: 20 * time.Second,
	Idle:      500,
	BulkBytes: 1 << 20,
	Timeout:   10 * time.Second,
}

func (c Config) withDefaults() Config {
	d := Defaults
	or := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	c.Duration, c.Sample = or(c.Duration, d.Duration), or(c.Sample, d.Sample)
	c.FlapEvery, c.FlapDown, c.FlapGrace = or(c.FlapEvery, d.FlapEvery), or(c.FlapDown, d.FlapDown), or(c.FlapGrace, d.FlapGrace)
	c.Timeout = or(c.Timeout, d.Timeout)
	if c.NetDev == "" {
		c.NetDev = d.NetDev
	}
	if c.Idle < 0 {
		c.Idle = 0
	} else if c.Idle == 0 {
		c.Idle = d.Idle
	}
	if c.BulkBytes <= 0 {
		c.BulkBytes = d.BulkBytes
	}
	return c
}

// Trend is the thresholds of the leak checks: the largest value of the
// last third of the samples may exceed the largest of the first third by
// at most this fraction.
const Trend = 0.10

// maxFailuresKept bounds the failure messages a report lists.
const maxFailuresKept = 20

// Report is the outcome of a run, written as JSON.
type Report struct {
	Settings  Settings            `json:"settings"`
	Start     time.Time           `json:"start"`
	DurationS float64             `json:"duration_s"`
	Ops       map[string]*OpCount `json:"ops"`
	// Requests, BytesChecked and Mismatches total Ops: requests that
	// succeeded, payload bytes compared, comparisons that failed.
	Requests     uint64 `json:"requests"`
	BytesChecked uint64 `json:"bytes_checked"`
	Mismatches   uint64 `json:"mismatches"`
	// Failures are failed requests outside the flap windows (the first
	// few); Excused counts those inside one.
	Failures []Failure `json:"failures"`
	Excused  uint64    `json:"excused_failures"`
	// Idle is the idle connections opened at the start and those that
	// still echoed at the end.
	Idle struct {
		Opened int `json:"opened"`
		Held   int `json:"held"`
	} `json:"idle_connections"`
	Flaps   []Flap   `json:"flaps"`
	Samples []Sample `json:"samples"`
	// Heap and Goroutines are the leak checks' inputs and results.
	Heap       ThirdsCheck `json:"heap_live_bytes"`
	Goroutines ThirdsCheck `json:"goroutines"`
	Pass       bool        `json:"pass"`
	Reasons    []string    `json:"reasons,omitempty"`
}

// Settings is the run's shape as used.
type Settings struct {
	Target      string  `json:"target"`
	DurationS   float64 `json:"duration_s"`
	SampleS     float64 `json:"sample_s"`
	FlapEveryS  float64 `json:"flap_every_s"`
	FlapDownS   float64 `json:"flap_down_s"`
	FlapGraceS  float64 `json:"flap_grace_s"`
	Idle        int     `json:"idle_connections"`
	BulkBytes   int64   `json:"bulk_bytes"`
	Note        string  `json:"note,omitempty"`
	TrendLimitP float64 `json:"trend_limit_percent"`
}

// OpCount counts one kind of operation.
type OpCount struct {
	OK           uint64 `json:"ok"`
	Failed       uint64 `json:"failed"`
	Excused      uint64 `json:"excused"`
	BytesChecked uint64 `json:"bytes_checked"`
	Mismatches   uint64 `json:"mismatches"`
}

// Failure is one failed request.
type Failure struct {
	Op    string  `json:"op"`
	AtS   float64 `json:"at_s"` // start, seconds into the run
	TookS float64 `json:"took_s"`
	Error string  `json:"error"`
}

// Flap is one link flap, in seconds into the run.
type Flap struct {
	DownS float64 `json:"down_s"`
	UpS   float64 `json:"up_s"`
	Error string  `json:"error,omitempty"`
}

// ThirdsCheck compares the first and last thirds of a sampled value.
type ThirdsCheck struct {
	First         uint64  `json:"first"`
	Last          uint64  `json:"last"`
	FirstThirdMax uint64  `json:"first_third_max"`
	LastThirdMax  uint64  `json:"last_third_max"`
	GrowthPercent float64 `json:"growth_percent"`
	Pass          bool    `json:"pass"`
}

// errMismatch marks a failure that is a wrong byte, not a lost request.
var errMismatch = errors.New("checked bytes differ")

// run is one soak in progress.
type run struct {
	cfg    Config
	start  time.Time
	mu     sync.Mutex
	rep    *Report
	failed []Failure // every failure, classified at the end
}

// Run soaks the target for cfg.Duration and returns the report; its Pass
// says whether the run met every check. An error means the run itself
// could not be done (no /stats, no monitor).
func Run(ctx context.Context, cfg Config, note string) (*Report, error) {
	cfg = cfg.withDefaults()
	r := &run{cfg: cfg, start: time.Now(), rep: &Report{Ops: map[string]*OpCount{}}}
	r.rep.Start = r.start
	r.rep.Settings = Settings{
		Target: cfg.HTTP, DurationS: cfg.Duration.Seconds(), SampleS: cfg.Sample.Seconds(),
		FlapEveryS: cfg.FlapEvery.Seconds(), FlapDownS: cfg.FlapDown.Seconds(), FlapGraceS: cfg.FlapGrace.Seconds(),
		Idle: cfg.Idle, BulkBytes: cfg.BulkBytes, Note: note, TrendLimitP: 100 * Trend,
	}
	stats := &http.Client{Timeout: cfg.Timeout}
	if _, err := r.sample(ctx, stats); err != nil {
		return nil, fmt.Errorf("soak: first sample: %w", err)
	}
	var mon *qmp.Client
	if cfg.QMP != "" {
		// The connection lives as long as ctx: dial with it, once QEMU
		// has made the socket.
		if _, err := os.Stat(cfg.QMP); err != nil {
			return nil, fmt.Errorf("soak: QMP socket: %w", err)
		}
		var err error
		if mon, err = qmp.Dial(ctx, cfg.QMP); err != nil {
			return nil, fmt.Errorf("soak: %w", err)
		}
	}

	// The idle connections are open before the clock starts.
	idle := r.openIdle(ctx)
	ctx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	for _, w := range r.workers() {
		wg.Go(func() { r.loop(ctx, w.name, w.op) })
	}
	if mon != nil {
		wg.Go(func() { r.flapLoop(ctx, mon) })
	}
	sampler := time.NewTicker(cfg.Sample)
	defer sampler.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-sampler.C:
			if s, err := r.sample(context.WithoutCancel(ctx), stats); err != nil {
				r.fail("stats", time.Now(), time.Now(), err)
			} else {
				r.logf("%4.0fs  heap %6.2f MiB  goroutines %4d  tcp %4d  rx ready %3d  tx in flight %3d  requests %d",
					s.AtS, float64(s.HeapLiveBytes)/(1<<20), s.Goroutines, s.TCPEstablished, s.RxReady, s.TxInFlight, r.requests())
			}
		}
	}
	wg.Wait()
	r.checkIdle(idle)
	if s, err := r.sample(context.Background(), stats); err != nil {
		r.fail("stats", time.Now(), time.Now(), err)
	} else {
		r.logf("%4.0fs  final sample: heap %6.2f MiB, goroutines %d", s.AtS, float64(s.HeapLiveBytes)/(1<<20), s.Goroutines)
	}
	r.judge()
	return r.rep, nil
}

func (r *run) since(t time.Time) float64 { return t.Sub(r.start).Seconds() }

func (r *run) logf(format string, a ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, "soak: "+format+"\n", a...)
	}
}

func (r *run) requests() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n uint64
	for _, c := range r.rep.Ops {
		n += c.OK
	}
	return n
}

// count records a successful operation that compared n bytes.
func (r *run) count(op string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.op(op)
	c.OK++
	c.BytesChecked += uint64(n)
}

// fail records a failed operation between start and end.
func (r *run) fail(op string, start, end time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.op(op)
	if errors.Is(err, errMismatch) {
		c.Mismatches++
	}
	r.failed = append(r.failed, Failure{Op: op, AtS: r.since(start), TookS: end.Sub(start).Seconds(), Error: err.Error()})
}

// op returns the counter of an operation kind. Called with r.mu held.
func (r *run) op(name string) *OpCount {
	c := r.rep.Ops[name]
	if c == nil {
		c = &OpCount{}
		r.rep.Ops[name] = c
	}
	return c
}

// loop runs op until ctx ends, pausing briefly after a failure so a
// target that is down is not hammered.
func (r *run) loop(ctx context.Context, name string, op func(context.Context) (int64, error)) {
	for ctx.Err() == nil {
		t0 := time.Now()
		n, err := op(ctx)
		t1 := time.Now()
		switch {
		case err == nil:
			r.count(name, n)
		case ended(ctx, t1) && !errors.Is(err, errMismatch):
			// Cut short by the end of the run.
		default:
			r.fail(name, t0, t1, err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// ended reports whether ctx was over at t: cancelled, or past its
// deadline (a dial can see the deadline before ctx.Err does).
func ended(ctx context.Context, t time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !t.Before(dl)
}

// flapLoop takes the link down for FlapDown every FlapEvery.
func (r *run) flapLoop(ctx context.Context, mon *qmp.Client) {
	t := time.NewTicker(r.cfg.FlapEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f := Flap{DownS: r.since(time.Now())}
		err := mon.SetLink(r.cfg.NetDev, false)
		if err == nil {
			select {
			case <-ctx.Done():
			case <-time.After(r.cfg.FlapDown):
			}
			err = mon.SetLink(r.cfg.NetDev, true)
		}
		f.UpS = r.since(time.Now())
		if err != nil {
			f.Error = err.Error()
		}
		r.mu.Lock()
		r.rep.Flaps = append(r.rep.Flaps, f)
		r.mu.Unlock()
		r.logf("%4.0fs  link flap %.1fs-%.1fs %s", f.DownS, f.DownS, f.UpS, f.Error)
	}
}

// excused reports whether a failure overlaps a flap's window: from the
// link going down to FlapGrace after it came back.
func (r *run) excused(f Failure) bool {
	for _, fl := range r.rep.Flaps {
		if f.AtS <= fl.UpS+r.cfg.FlapGrace.Seconds() && f.AtS+f.TookS >= fl.DownS {
			return true
		}
	}
	return false
}

// judge classifies the failures and applies the checks.
func (r *run) judge() {
	rep := r.rep
	rep.DurationS = time.Since(r.start).Seconds()
	sort.Slice(r.failed, func(i, j int) bool { return r.failed[i].AtS < r.failed[j].AtS })
	var outside int
	for _, f := range r.failed {
		c := rep.Ops[f.Op]
		switch {
		case strings.Contains(f.Error, errMismatch.Error()):
			outside++
			c.Failed++
		case r.excused(f):
			c.Excused++
			rep.Excused++
			continue
		default:
			outside++
			c.Failed++
		}
		if len(rep.Failures) < maxFailuresKept {
			rep.Failures = append(rep.Failures, f)
		}
	}
	names := make([]string, 0, len(rep.Ops))
	for name := range rep.Ops {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := rep.Ops[name]
		rep.Requests += c.OK
		rep.BytesChecked += c.BytesChecked
		rep.Mismatches += c.Mismatches
	}
	heap := make([]uint64, len(rep.Samples))
	gor := make([]uint64, len(rep.Samples))
	for i, s := range rep.Samples {
		heap[i], gor[i] = s.HeapLiveBytes, s.Goroutines
	}
	rep.Heap, rep.Goroutines = thirds(heap), thirds(gor)
	var reasons []string
	if !rep.Heap.Pass {
		reasons = append(reasons, fmt.Sprintf("heap grew %.1f%% from the first third of the run to the last (limit %.0f%%)", rep.Heap.GrowthPercent, 100*Trend))
	}
	if !rep.Goroutines.Pass {
		reasons = append(reasons, fmt.Sprintf("goroutines grew %.1f%% from the first third to the last (limit %.0f%%)", rep.Goroutines.GrowthPercent, 100*Trend))
	}
	if rep.Mismatches > 0 {
		reasons = append(reasons, fmt.Sprintf("%d comparisons found wrong bytes", rep.Mismatches))
	}
	if outside > 0 {
		reasons = append(reasons, fmt.Sprintf("%d requests failed outside the flap windows", outside))
	}
	if rep.Idle.Held < r.cfg.Idle {
		reasons = append(reasons, fmt.Sprintf("%d of %d idle connections opened, %d still echoed at the end", rep.Idle.Opened, r.cfg.Idle, rep.Idle.Held))
	}
	for _, f := range rep.Flaps {
		if f.Error != "" {
			reasons = append(reasons, "a link flap failed: "+f.Error)
			break
		}
	}
	if len(rep.Samples) < 3 {
		reasons = append(reasons, fmt.Sprintf("only %d samples: too short a run to judge a trend", len(rep.Samples)))
	}
	rep.Reasons, rep.Pass = reasons, len(reasons) == 0
}

// thirds compares the maxima of the first and last thirds of vs. Fewer
// than three values pass (judge fails such a run for being too short).
func thirds(vs []uint64) ThirdsCheck {
	c := ThirdsCheck{Pass: true}
	if len(vs) < 3 {
		return c
	}
	k := len(vs) / 3
	c.First, c.Last = vs[0], vs[len(vs)-1]
	c.FirstThirdMax, c.LastThirdMax = slices.Max(vs[:k]), slices.Max(vs[len(vs)-k:])
	c.GrowthPercent = 100 * (float64(c.LastThirdMax)/float64(max(c.FirstThirdMax, 1)) - 1)
	c.Pass = float64(c.LastThirdMax) <= (1+Trend)*float64(c.FirstThirdMax)
	return c
}

// WriteJSON writes the report, indented.
func (rep *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(rep)
}
