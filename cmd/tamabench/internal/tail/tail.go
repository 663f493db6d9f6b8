// Package tail explains a latency test's slowest requests with the guest's
// latency trace (package lattrace, read from the unikernel's /debug/trace):
// each request's time on the host is split by what the guest was doing
// meanwhile, and the slowest are attributed to whatever took them longer
// than the median request.
//
// What the guest does during a request, as the trace shows it, falls in
// one of these states, in this order of precedence when they overlap:
//
//	halted     the CPU idled (the request was outside the guest: host,
//	           QEMU, or an interrupt that came late)
//	watchdog   the driver's periodic housekeeping ran
//	handler    the application worked on a request (any request)
//	rx         a NAPI poll round: harvesting frames and the stack's
//	           processing of them
//	busy       anything else the guest ran: scheduling, the transmit
//	           queue, timers, garbage collection
//
// A request whose extra time went mostly to busy while a garbage collection
// cycle ended during it (or just after) is attributed to gc.
//
// On a shared host the guest's virtual CPU can be runnable and not run:
// its time then passes in whatever state the guest was in. Samples of how
// long QEMU's threads waited for a host CPU (HostSample) measure that; a
// request whose extra time is mostly such waiting is attributed to host.
//
// Each request is also split into stages by its own first events: in
// (until the guest harvested its first frame), stack (until a handler
// started), handler (until it ended), out (until the transmit doorbell)
// and back (until the host had the answer). They say where the request
// waited; the states say what the guest did meanwhile.
package tail

import (
	"slices"
	"sort"
	"time"

	"tamanet/lattrace"
)

// Event is one guest event placed on the host's clock.
type Event struct {
	At   time.Time
	Kind lattrace.Kind
	Arg  uint32
}

// Request is one operation on the host's clock.
type Request struct {
	Start, End time.Time
}

// States a request's time is split into.
const (
	StateHalted   = "halted"
	StateWatchdog = "watchdog"
	StateHandler  = "handler"
	StateRx       = "rx"
	StateBusy     = "busy"
)

// States lists them in precedence order.
var States = []string{StateHalted, StateWatchdog, StateHandler, StateRx, StateBusy}

// Stages of a request, in order.
const (
	StageIn      = "in"
	StageStack   = "stack"
	StageHandler = "handler"
	StageOut     = "out"
	StageBack    = "back"
)

// Stages lists them in order.
var Stages = []string{StageIn, StageStack, StageHandler, StageOut, StageBack}

// Causes besides the states: busy time while a garbage collection cycle
// ended, and QEMU's threads waiting for a host CPU.
const (
	CauseGC   = "gc"
	CauseHost = "host"
)

// HostSample is how long QEMU's virtual CPU thread and main loop thread
// had waited, in total, for a host CPU at an instant (schedstat run_delay).
type HostSample struct {
	At         time.Time
	VCPU, Main time.Duration
}

// gcSlack is how long after a request a GC cycle's end may be seen and
// still count: the finalizer that reports it runs after the cycle.
const gcSlack = 5 * time.Millisecond

// Breakdown is where one request's time went.
type Breakdown struct {
	Start   time.Time                `json:"start"`
	Latency time.Duration            `json:"latency_ns"`
	States  map[string]time.Duration `json:"states_ns"`
	// Stages is the request's time by stage; a stage whose event was not
	// seen runs on into the next.
	Stages map[string]time.Duration `json:"stages_ns"`
	// GC says a garbage collection cycle ended during the request or
	// within gcSlack after it.
	GC bool `json:"gc"`
	// Events counts trace events inside the request.
	Events int `json:"events"`
	// HostVCPU and HostMain are how long QEMU's virtual CPU and main loop
	// threads waited for a host CPU during the request (with host
	// samples).
	HostVCPU time.Duration `json:"host_vcpu_wait_ns"`
	HostMain time.Duration `json:"host_main_wait_ns"`
	// Cause is the state (or gc, or host) that explains most of the time
	// over the median request; set for the slowest requests.
	Cause string `json:"cause,omitempty"`
}

// Summary is the analysis of one test.
type Summary struct {
	// Requests counts the requests the trace covers; Slowest how many of
	// them were analysed as the tail.
	Requests int `json:"requests"`
	Slowest  int `json:"slowest"`
	// Threshold is the latency of the fastest request in the tail.
	Threshold time.Duration `json:"threshold_ns"`
	// Causes counts the tail's requests by cause.
	Causes map[string]int `json:"causes"`
	// MedianLatency is the median request's; HostWait the median of the
	// host threads' waits.
	MedianLatency time.Duration `json:"median_latency_ns"`
	HostWait      time.Duration `json:"median_host_wait_ns"`
	// Median is each state's median time per request, MedianStages each
	// stage's.
	Median       map[string]time.Duration `json:"median_ns"`
	MedianStages map[string]time.Duration `json:"median_stages_ns"`
	// Worst are the slowest requests' breakdowns, slowest first (at most
	// five).
	Worst []Breakdown `json:"worst"`
	// Uncovered counts requests before the trace's oldest event, which
	// were left out.
	Uncovered int `json:"uncovered"`
	// TraceLost counts events the guest's ring dropped.
	TraceLost uint64 `json:"trace_lost"`
}

// maxWorst bounds Summary.Worst.
const maxWorst = 5

// Analyze breaks down every request the trace covers (events sorted by
// time; requests of one sequential worker) and attributes the slowest
// fraction (at least one request) to causes. host, in time order, may be
// nil.
func Analyze(reqs []Request, events []Event, host []HostSample, fraction float64) Summary {
	s := Summary{Causes: map[string]int{}, Median: map[string]time.Duration{}, MedianStages: map[string]time.Duration{}}
	if len(events) == 0 || len(reqs) == 0 {
		s.Uncovered = len(reqs)
		return s
	}
	reqs = slices.Clone(reqs)
	slices.SortFunc(reqs, func(a, b Request) int { return a.Start.Compare(b.Start) })
	var covered []Breakdown
	w := newWalker(events)
	for _, r := range reqs {
		if r.Start.Before(events[0].At) {
			s.Uncovered++
			continue
		}
		b := w.breakdown(r)
		b.HostVCPU = hostWait(host, r, func(s HostSample) time.Duration { return s.VCPU })
		b.HostMain = hostWait(host, r, func(s HostSample) time.Duration { return s.Main })
		covered = append(covered, b)
	}
	s.Requests = len(covered)
	if len(covered) == 0 {
		return s
	}
	median := func(get func(Breakdown) time.Duration) time.Duration {
		vals := make([]time.Duration, len(covered))
		for i, b := range covered {
			vals[i] = get(b)
		}
		slices.Sort(vals)
		return vals[len(vals)/2]
	}
	for _, st := range States {
		s.Median[st] = median(func(b Breakdown) time.Duration { return b.States[st] })
	}
	for _, st := range Stages {
		s.MedianStages[st] = median(func(b Breakdown) time.Duration { return b.Stages[st] })
	}
	s.MedianLatency = median(func(b Breakdown) time.Duration { return b.Latency })
	s.HostWait = median(func(b Breakdown) time.Duration { return b.HostVCPU + b.HostMain })
	sort.SliceStable(covered, func(i, j int) bool { return covered[i].Latency > covered[j].Latency })
	n := max(1, int(float64(len(covered))*fraction+0.5))
	s.Slowest = n
	s.Threshold = covered[n-1].Latency
	for i := range covered[:n] {
		b := &covered[i]
		b.Cause = cause(*b, s)
		s.Causes[b.Cause]++
		if i < maxWorst {
			s.Worst = append(s.Worst, *b)
		}
	}
	return s
}

// cause is host if QEMU's threads waited for a host CPU for at least half
// of the request's time over the median, else the state whose time exceeds
// its median by the most, with busy time during a garbage collection
// counted as gc.
func cause(b Breakdown, s Summary) string {
	if extra := b.Latency - s.MedianLatency; extra > 0 && 2*(b.HostVCPU+b.HostMain-s.HostWait) >= extra {
		return CauseHost
	}
	best, excess := StateBusy, time.Duration(-1<<63)
	for _, st := range States {
		if e := b.States[st] - s.Median[st]; e > excess {
			best, excess = st, e
		}
	}
	if best == StateBusy && b.GC {
		return CauseGC
	}
	return best
}

// hostWait is how much the waits that get returns grew over r, from the
// samples around r's ends (linearly between them).
func hostWait(host []HostSample, r Request, get func(HostSample) time.Duration) time.Duration {
	if len(host) < 2 {
		return 0
	}
	at := func(t time.Time) time.Duration {
		k, _ := slices.BinarySearchFunc(host, t, func(s HostSample, t time.Time) int { return s.At.Compare(t) })
		switch {
		case k == 0:
			return get(host[0])
		case k == len(host):
			return get(host[len(host)-1])
		}
		a, b := host[k-1], host[k]
		f := float64(t.Sub(a.At)) / float64(b.At.Sub(a.At))
		return get(a) + time.Duration(f*float64(get(b)-get(a)))
	}
	return at(r.End) - at(r.Start)
}

// walker replays the events in time order, keeping the guest's state, and
// integrates it over requests taken in start order.
type walker struct {
	events               []Event
	i                    int // next event to apply
	at                   time.Time
	halted, watchdog, rx bool
	handlers             int
	gcs                  []time.Time
}

func newWalker(events []Event) *walker {
	w := &walker{events: events, at: events[0].At}
	for _, e := range events {
		if e.Kind == lattrace.KindGC {
			w.gcs = append(w.gcs, e.At)
		}
	}
	return w
}

func (w *walker) state() string {
	switch {
	case w.halted:
		return StateHalted
	case w.watchdog:
		return StateWatchdog
	case w.handlers > 0:
		return StateHandler
	case w.rx:
		return StateRx
	}
	return StateBusy
}

func (w *walker) apply(e Event) {
	switch e.Kind {
	case lattrace.KindHalt:
		w.halted = true
	case lattrace.KindWake, lattrace.KindIRQ:
		w.halted = false
	case lattrace.KindWatchdogStart:
		w.watchdog = true
	case lattrace.KindWatchdogEnd:
		w.watchdog = false
	case lattrace.KindHandlerStart:
		w.handlers++
	case lattrace.KindHandlerEnd:
		w.handlers = max(0, w.handlers-1)
	case lattrace.KindPollStart:
		w.rx = true
	case lattrace.KindPollEnd:
		w.rx = false
	}
	w.at = e.At
}

// breakdown integrates the state over r. Requests must come in start
// order; events before r.Start are applied without being counted.
func (w *walker) breakdown(r Request) Breakdown {
	b := Breakdown{Start: r.Start, Latency: r.End.Sub(r.Start),
		States: map[string]time.Duration{}, Stages: map[string]time.Duration{}}
	// stage is the request's current stage (index into Stages); stageAt
	// when it began.
	stage, stageAt := 0, r.Start
	advance := func(to int, at time.Time) {
		if to > stage {
			b.Stages[Stages[stage]] += at.Sub(stageAt)
			stage, stageAt = to, at
		}
	}
	for w.i < len(w.events) && !w.events[w.i].At.After(r.Start) {
		w.apply(w.events[w.i])
		w.i++
	}
	t := r.Start
	for j := w.i; j < len(w.events) && w.events[j].At.Before(r.End); j++ {
		e := w.events[j]
		b.States[w.state()] += e.At.Sub(t)
		switch {
		case e.Kind == lattrace.KindRx && stage == 0:
			advance(1, e.At)
		case e.Kind == lattrace.KindHandlerStart && stage <= 1:
			advance(2, e.At)
		case e.Kind == lattrace.KindHandlerEnd && stage == 2:
			advance(3, e.At)
		case e.Kind == lattrace.KindTxDoorbell && stage == 3:
			advance(4, e.At)
		}
		w.apply(e)
		w.i = j + 1
		t = e.At
		b.Events++
	}
	b.States[w.state()] += r.End.Sub(t)
	b.Stages[Stages[stage]] += r.End.Sub(stageAt)
	k, _ := slices.BinarySearchFunc(w.gcs, r.Start, func(g, s time.Time) int { return g.Compare(s) })
	b.GC = k < len(w.gcs) && w.gcs[k].Before(r.End.Add(gcSlack))
	return b
}
