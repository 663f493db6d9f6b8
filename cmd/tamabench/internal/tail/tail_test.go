package tail

import (
	"testing"
	"time"

	"tamanet/lattrace"
)

// script builds events and requests on a timeline in microseconds.
type script struct {
	t0     time.Time
	events []Event
	reqs   []Request
}

func (s *script) at(us int) time.Time { return s.t0.Add(time.Duration(us) * time.Microsecond) }

func (s *script) ev(us int, k lattrace.Kind) {
	s.events = append(s.events, Event{At: s.at(us), Kind: k})
}

// request adds a request of the usual shape: halted until the interrupt,
// a poll, then the handler.
func (s *script) request(start, halt, poll, handler, end int) {
	s.reqs = append(s.reqs, Request{s.at(start), s.at(end)})
	s.ev(start+1, lattrace.KindHalt)
	s.ev(start+1+halt, lattrace.KindIRQ)
	s.ev(start+2+halt, lattrace.KindPollStart)
	s.ev(start+3+halt, lattrace.KindRx)
	s.ev(start+2+halt+poll, lattrace.KindPollEnd)
	s.ev(start+3+halt+poll, lattrace.KindHandlerStart)
	s.ev(start+3+halt+poll+handler, lattrace.KindHandlerEnd)
	s.ev(start+10+halt+poll+handler, lattrace.KindTxDoorbell)
}

func TestAnalyze(t *testing.T) {
	s := &script{t0: time.Unix(1000, 0)}
	s.ev(0, lattrace.KindWake) // the trace starts before the first request
	for i := range 200 {
		s.request(10+i*1000, 100, 50, 50, 10+i*1000+250)
	}
	// Request 200: the watchdog ran for 3 ms before the handler.
	base := 10 + 200*1000
	s.reqs = append(s.reqs, Request{s.at(base), s.at(base + 3400)})
	s.ev(base+1, lattrace.KindHalt)
	s.ev(base+101, lattrace.KindIRQ)
	s.ev(base+102, lattrace.KindWatchdogStart)
	s.ev(base+3102, lattrace.KindWatchdogEnd)
	s.ev(base+3110, lattrace.KindPollStart)
	s.ev(base+3160, lattrace.KindPollEnd)
	s.ev(base+3170, lattrace.KindHandlerStart)
	s.ev(base+3220, lattrace.KindHandlerEnd)
	// Request 201: 2 ms of busy time, a GC cycle ending just after.
	base += 5000
	s.request(base, 100, 50, 50, base+2300)
	s.ev(base+2400, lattrace.KindGC)
	// Request 202: 2 ms halted (the host was late).
	base += 5000
	s.request(base, 2100, 50, 50, base+2300)

	got := Analyze(s.reqs, s.events, nil, 0.01)
	if got.Requests != 203 || got.Slowest != 2 || got.Uncovered != 0 {
		t.Fatalf("requests %d slowest %d uncovered %d", got.Requests, got.Slowest, got.Uncovered)
	}
	if got.Worst[0].Cause != StateWatchdog || got.Worst[0].States[StateWatchdog] != 3*time.Millisecond {
		t.Errorf("slowest: %+v, want the watchdog's 3 ms", got.Worst[0])
	}
	if got.Worst[1].Cause != CauseGC {
		t.Errorf("second slowest: %+v, want gc", got.Worst[1])
	}
	if m := got.Median[StateHalted]; m != 100*time.Microsecond {
		t.Errorf("median halted %v, want 100µs", m)
	}
	// start+103 rx, +153 handler start, +203 end, +210 doorbell, +250 end.
	for st, want := range map[string]int{StageIn: 103, StageStack: 50, StageHandler: 50, StageOut: 7, StageBack: 40} {
		if m := got.MedianStages[st]; m != time.Duration(want)*time.Microsecond {
			t.Errorf("median stage %s %v, want %dµs", st, m, want)
		}
	}
	all := Analyze(s.reqs, s.events, nil, 0.015)
	if all.Causes[StateWatchdog] != 1 || all.Causes[CauseGC] != 1 || all.Causes[StateHalted] != 1 {
		t.Errorf("causes %v", all.Causes)
	}
	// Requests before the trace are left out, not guessed at.
	early := append([]Request{{s.t0.Add(-time.Second), s.t0.Add(-time.Second + time.Millisecond)}}, s.reqs...)
	if got := Analyze(early, s.events, nil, 0.01); got.Uncovered != 1 || got.Requests != 203 {
		t.Errorf("uncovered %d requests %d", got.Uncovered, got.Requests)
	}
	// With the host's samples: the halted request's vCPU was runnable and
	// waiting for 2 ms of its extra 2.05 ms.
	host := []HostSample{{At: s.t0}, {At: s.at(base), VCPU: 0}, {At: s.at(base + 2300), VCPU: 2 * time.Millisecond},
		{At: s.at(base + 9000), VCPU: 2 * time.Millisecond}}
	h := Analyze(s.reqs, s.events, host, 0.015)
	if h.Causes[CauseHost] != 1 || h.Causes[StateHalted] != 0 || h.Causes[StateWatchdog] != 1 {
		t.Errorf("causes with host samples %v", h.Causes)
	}
}
