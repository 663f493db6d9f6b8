// Package napi is a budgeted poll engine for network drivers, modelled on the
// semantics of Linux NAPI: an interrupt schedules a poll and leaves the
// device's interrupt causes masked; the poll harvests at most a budget of
// packets per round and keeps polling while the budget is used up; when a
// round finishes early the engine completes and the driver re-arms its
// interrupts.
//
// The engine knows nothing about the device. A driver implements Poller, calls
// Schedule from its interrupt handler, and some goroutine runs the rounds with
// Run (or Step, for owners and tests that drive the engine themselves).
package napi

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"tamanet/lattrace"
)

// Poller is the driver side of the engine.
type Poller interface {
	// Poll harvests up to budget received packets and reclaims completed
	// transmit descriptors. It returns the number of received packets it
	// handled (the work done), never more than budget.
	Poll(budget int) int
	// EnableInterrupts re-arms the device's receive and transmit interrupt
	// causes that the interrupt handler masked before calling Schedule.
	EnableInterrupts()
}

// Mode selects how the engine trades interrupts for polling.
type Mode int

const (
	// ModeNAPI polls with the configured budget while work keeps coming and
	// re-arms interrupts only when a round finishes under budget.
	ModeNAPI Mode = iota
	// ModeInterrupt is interrupt-driven service as before NAPI, kept for
	// comparison: each interrupt gets one round that drains the rings (Poll
	// with the budget, again while a call fills it, up to MaxDrainPolls
	// calls) and then re-arms. It never polls without an interrupt: what
	// arrives later, or beyond the drain limit, raises the next one.
	ModeInterrupt
	// ModeBusyPoll never re-arms interrupts: Run polls continuously, yielding
	// the processor between rounds.
	ModeBusyPoll
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModeNAPI:
		return "napi"
	case ModeInterrupt:
		return "interrupt"
	case ModeBusyPoll:
		return "busypoll"
	}
	return "unknown"
}

// DefaultBudget is the per-round packet budget when Config.Budget is zero
// (Linux's NAPI_POLL_WEIGHT).
const DefaultBudget = 64

// MaxDrainPolls bounds the Poll calls of one ModeInterrupt round, so a
// device that refills as fast as it is drained cannot hold the round
// forever (pre-NAPI Linux e1000 bounded its interrupt loop the same way).
const MaxDrainPolls = 16

// Config tunes an Instance. The zero value is ModeNAPI with DefaultBudget.
type Config struct {
	// Budget is the most packets one Poll call may harvest (the NAPI weight).
	// Zero means DefaultBudget.
	Budget int
	// Mode selects NAPI, interrupt-driven or busy polling.
	Mode Mode
}

// State bits, as in Linux's napi_struct.state.
const (
	// stateSched: a poll is owed or running. Only the holder of this bit
	// calls Poll, and interrupts stay masked while it is set.
	stateSched uint32 = 1 << iota
	// stateMissed: Schedule was called while stateSched was held, so the
	// running poll may have started before the event it announced.
	stateMissed
)

// Instance is one poll context (one per receive queue).
type Instance struct {
	p      Poller
	budget int
	mode   Mode

	state atomic.Uint32
	// wake carries "a poll became scheduled" to Run; one token is enough
	// because Run rechecks state before it sleeps again.
	wake chan struct{}
	// pollMu serialises rounds between Run and Step callers.
	pollMu sync.Mutex

	ctr counters
}

// New returns an idle instance for p.
func New(p Poller, cfg Config) *Instance {
	budget := cfg.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	return &Instance{
		p:      p,
		budget: budget,
		mode:   cfg.Mode,
		wake:   make(chan struct{}, 1),
	}
}

// Budget returns the per-round budget in effect.
func (n *Instance) Budget() int { return n.budget }

// Mode returns the configured mode.
func (n *Instance) Mode() Mode { return n.mode }

// Schedule asks for a poll. The driver's interrupt handler calls it after
// masking the device's receive/transmit causes. It is safe from any goroutine
// and idempotent while a poll is scheduled or running: such a call sets the
// MISSED bit instead, so the running poll repolls before it re-arms interrupts
// (the interrupt may announce work that poll has already passed). It reports
// whether this call scheduled a new poll.
func (n *Instance) Schedule() bool {
	n.ctr.irqs.Add(1)
	for {
		old := n.state.Load()
		if old&stateSched != 0 {
			if old&stateMissed != 0 || n.state.CompareAndSwap(old, old|stateMissed) {
				return false
			}
			continue
		}
		if n.state.CompareAndSwap(old, old|stateSched) {
			n.kick()
			return true
		}
	}
}

// Scheduled reports whether a poll is owed or running.
func (n *Instance) Scheduled() bool { return n.state.Load()&stateSched != 0 }

func (n *Instance) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Step runs one poll round in the calling goroutine if a poll is scheduled
// (in ModeBusyPoll it always polls). It reports whether another round is
// owed now; false means the instance completed and re-armed interrupts, or
// had nothing scheduled. Owners that do not use Run drive the engine with
// `for n.Step() {}`; in ModeBusyPoll that loop never ends by itself.
func (n *Instance) Step() bool {
	n.pollMu.Lock()
	defer n.pollMu.Unlock()

	if n.mode == ModeBusyPoll {
		// Busy polling owns the device permanently; SCHED stays set so a
		// stray Schedule does no more than note MISSED.
		n.state.Store(stateSched)
		work := n.poll()
		if work > 0 {
			// Only polls that found work: the trace would hold nothing else.
			lattrace.Record(lattrace.KindPollEnd, uint32(work))
		}
		return true
	}
	// A MISSED noted before this round starts is covered by this round.
	for {
		old := n.state.Load()
		if old&stateSched == 0 {
			return false
		}
		if old&stateMissed == 0 || n.state.CompareAndSwap(old, old&^stateMissed) {
			break
		}
	}
	lattrace.Record(lattrace.KindPollStart, 0)
	work := n.poll()
	if n.mode == ModeInterrupt {
		// Drain: a full budget means more may be waiting.
		for calls := 1; work >= n.budget && calls < MaxDrainPolls; calls++ {
			work = n.poll()
		}
	}
	lattrace.Record(lattrace.KindPollEnd, uint32(work))
	if n.mode != ModeInterrupt && work >= n.budget {
		// More may be waiting: keep SCHED, keep interrupts masked.
		n.ctr.exhaustions.Add(1)
		return true
	}
	if !n.complete() {
		// An interrupt arrived during the round; its handler may have
		// consumed the cause, so re-arming alone might never fire again.
		n.ctr.missedRepolls.Add(1)
		return true
	}
	n.ctr.completions.Add(1)
	n.p.EnableInterrupts()
	lattrace.Record(lattrace.KindRearm, 0)
	// Re-arming may itself have raised an interrupt that scheduled a poll.
	return n.Scheduled()
}

// poll calls the driver with the budget, clamps what it reports and counts
// the call.
func (n *Instance) poll() int {
	work := n.p.Poll(n.budget)
	if work < 0 {
		work = 0
	}
	n.ctr.record(work)
	return work
}

// complete clears SCHED unless an interrupt arrived during the round (MISSED),
// in which case it consumes MISSED, keeps SCHED and reports false: the caller
// must poll again without re-arming, as in Linux's napi_complete_done. Doing
// the check and the clear in one atomic step leaves no window in which an
// interrupt could be noted as MISSED after the decision and then be lost.
func (n *Instance) complete() bool {
	for {
		old := n.state.Load()
		if old&stateMissed != 0 {
			if n.state.CompareAndSwap(old, old&^stateMissed) {
				return false
			}
			continue
		}
		if n.state.CompareAndSwap(old, old&^stateSched) {
			return true
		}
	}
}

// Run runs poll rounds as they are scheduled until ctx is done. Between
// rounds that used their whole budget it yields with runtime.Gosched so other
// goroutines (the stack, the application) get the processor. In ModeBusyPoll
// it polls continuously from the start and never re-arms interrupts.
// Only one Run may be active per instance.
func (n *Instance) Run(ctx context.Context) {
	done := ctx.Done()
	for {
		if n.Step() {
			select {
			case <-done:
				return
			default:
			}
			runtime.Gosched()
			continue
		}
		select {
		case <-done:
			return
		case <-n.wake:
		}
	}
}
