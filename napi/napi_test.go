package napi

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeDev is a device with a receive queue and an interrupt mask, shaped like
// the e1000: a cause latch that reading clears (ICR), a mask (IMS/IMC) and an
// interrupt that fires when a cause is latched while unmasked.
type fakeDev struct {
	t *testing.T
	n *Instance

	mu      sync.Mutex
	pending int  // packets in the ring
	cause   bool // RX cause latched (ICR.RXT0)
	armed   bool // RX cause unmasked (IMS)

	budgets   []int // budget seen by each Poll
	enables   int
	afterPoll func(call int) // runs inside Poll after harvesting
	onEnable  func()         // runs inside EnableInterrupts
}

func newFake(t *testing.T, cfg Config) *fakeDev {
	f := &fakeDev{t: t, armed: true}
	f.n = New(f, cfg)
	return f
}

func (f *fakeDev) Poll(budget int) int {
	f.mu.Lock()
	f.budgets = append(f.budgets, budget)
	call := len(f.budgets)
	work := min(budget, f.pending)
	f.pending -= work
	hook := f.afterPoll
	f.mu.Unlock()
	if hook != nil {
		hook(call)
	}
	return work
}

func (f *fakeDev) EnableInterrupts() {
	f.mu.Lock()
	f.enables++
	hook := f.onEnable
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	f.mu.Lock()
	f.armed = true
	fire := f.cause // a latched cause asserts the line once unmasked
	f.mu.Unlock()
	if fire {
		f.interrupt()
	}
}

// arrive queues k packets; the device interrupts if the cause is unmasked.
func (f *fakeDev) arrive(k int) {
	f.mu.Lock()
	f.pending += k
	f.cause = true
	fire := f.armed
	f.mu.Unlock()
	if fire {
		f.interrupt()
	}
}

// interrupt is the driver's handler: read-and-clear the cause and, if it
// announced receive work, mask the cause and schedule a poll.
func (f *fakeDev) interrupt() {
	f.mu.Lock()
	rx := f.cause
	f.cause = false
	if rx {
		f.armed = false
	}
	f.mu.Unlock()
	if rx {
		f.n.Schedule()
	}
}

func (f *fakeDev) left() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending
}

// drain steps the instance until it completes, failing after limit rounds.
func drain(t *testing.T, n *Instance, limit int) int {
	t.Helper()
	rounds := 0
	for n.Step() {
		rounds++
		if rounds > limit {
			t.Fatalf("instance still scheduled after %d rounds", limit)
		}
	}
	return rounds
}

func TestBudgetHonouredAndExhaustionRepoll(t *testing.T) {
	f := newFake(t, Config{Budget: 16})
	f.arrive(50) // one interrupt, four rounds: 16, 16, 16, 2
	if !f.n.Scheduled() {
		t.Fatal("interrupt did not schedule a poll")
	}
	drain(t, f.n, 10)
	for i, b := range f.budgets {
		if b != 16 {
			t.Errorf("poll %d got budget %d, want 16", i, b)
		}
	}
	s := f.n.Stats()
	want := Stats{IRQs: 1, Polls: 4, Packets: 50, BudgetExhaustions: 3, Completions: 1}
	want.PollSizes.Buckets[bucket(16)] = 3
	want.PollSizes.Buckets[bucket(2)] = 1
	want.PollSizes.Packets = 50
	if s != want {
		t.Errorf("stats = %+v\nwant   %+v", s, want)
	}
	if f.enables != 1 {
		t.Errorf("EnableInterrupts called %d times, want 1 (only at completion)", f.enables)
	}
	if f.left() != 0 || f.n.Scheduled() {
		t.Errorf("left %d packets, scheduled=%v", f.left(), f.n.Scheduled())
	}
}

func TestDefaultBudget(t *testing.T) {
	if b := New(nil, Config{}).Budget(); b != DefaultBudget {
		t.Errorf("default budget %d, want %d", b, DefaultBudget)
	}
	if b := New(nil, Config{Budget: 8, Mode: ModeInterrupt}).Budget(); b != 8 {
		t.Errorf("interrupt mode budget %d, want the configured 8", b)
	}
}

func TestScheduleIdempotent(t *testing.T) {
	f := newFake(t, Config{})
	if !f.n.Schedule() {
		t.Fatal("first Schedule did not schedule")
	}
	for range 5 {
		if f.n.Schedule() {
			t.Fatal("Schedule while scheduled scheduled again")
		}
	}
	// Those calls came before the round started, so the round covers them:
	// no repoll is owed for them.
	drain(t, f.n, 3)
	s := f.n.Stats()
	if s.IRQs != 6 || s.Polls != 1 || s.MissedRepolls != 0 || s.Completions != 1 {
		t.Errorf("stats = %+v, want 6 IRQs, 1 poll, 0 missed repolls, 1 completion", s)
	}
	if len(f.n.wake) > 1 {
		t.Error("more than one wake-up token")
	}
}

// TestMissedInterruptRace forces the race MISSED exists for: the poll has
// passed the ring's end, a packet lands, and an interrupt handler (here an
// unrelated cause on the shared line) reads and clears the receive cause and
// calls Schedule while the poll still holds SCHED. Re-arming alone would not
// fire again because the cause was already consumed; the engine must repoll.
func TestMissedInterruptRace(t *testing.T) {
	f := newFake(t, Config{})
	f.afterPoll = func(call int) {
		if call != 1 {
			return
		}
		f.mu.Lock()
		f.pending++ // lands after this poll passed the end of the ring
		f.cause = true
		f.mu.Unlock()
		f.interrupt() // reads and clears the cause, Schedule -> MISSED
	}
	f.n.Schedule()
	rounds := drain(t, f.n, 5)
	if rounds != 1 {
		t.Errorf("drain ran %d extra rounds, want 1 (the missed repoll)", rounds)
	}
	s := f.n.Stats()
	if s.MissedRepolls != 1 || s.Polls != 2 || s.Completions != 1 {
		t.Errorf("stats = %+v, want 1 missed repoll, 2 polls, 1 completion", s)
	}
	if s.Packets != 1 {
		t.Errorf("harvested %d packets, want the late one", s.Packets)
	}
	if f.enables != 1 {
		t.Errorf("EnableInterrupts called %d times, want 1 (not before the repoll)", f.enables)
	}
}

// TestInterruptDuringReArm: an interrupt that arrives after SCHED was cleared
// (here from inside EnableInterrupts, as a device asserts its line when a
// latched cause is unmasked) schedules a fresh poll rather than noting MISSED.
func TestInterruptDuringReArm(t *testing.T) {
	f := newFake(t, Config{})
	f.onEnable = func() {
		if f.enables == 1 {
			f.mu.Lock()
			f.pending++
			f.cause = true // fires when EnableInterrupts finishes unmasking
			f.mu.Unlock()
		}
	}
	f.arrive(3)
	drain(t, f.n, 5)
	s := f.n.Stats()
	if s.IRQs != 2 || s.Completions != 2 || s.MissedRepolls != 0 || s.Packets != 4 {
		t.Errorf("stats = %+v, want 2 IRQs, 2 completions, no missed repoll, 4 packets", s)
	}
	if f.left() != 0 {
		t.Errorf("%d packets stranded", f.left())
	}
}

// TestModeInterrupt: interrupt mode gives each interrupt one round that
// drains the ring (several Poll calls while they fill the budget) and then
// re-arms; it never owes itself a round, and packets it leaves behind wait
// for the next interrupt.
func TestModeInterrupt(t *testing.T) {
	f := newFake(t, Config{Budget: 16, Mode: ModeInterrupt})
	f.arrive(40) // one interrupt: polls of 16, 16, 8 in one round
	if rounds := drain(t, f.n, 5); rounds != 0 {
		t.Errorf("%d rounds after the first, want none: one interrupt, one round", rounds)
	}
	want := Stats{IRQs: 1, Polls: 3, Packets: 40, Completions: 1}
	want.PollSizes.Buckets[bucket(16)] = 2
	want.PollSizes.Buckets[bucket(8)] = 1
	want.PollSizes.Packets = 40
	if s := f.n.Stats(); s != want || f.enables != 1 || f.left() != 0 {
		t.Errorf("stats = %+v, enables %d, left %d\nwant    %+v, 1 enable, 0 left", s, f.enables, f.left(), want)
	}

	// A backlog beyond the drain limit waits for the next interrupt, which
	// the device raises when the latched cause is re-armed.
	f.arrive(MaxDrainPolls*16 + 5)
	f.mu.Lock()
	f.cause = true // more arrives while the round runs
	f.mu.Unlock()
	drain(t, f.n, 5)
	s := f.n.Stats()
	if s.IRQs != 3 || s.Completions != 3 || s.BudgetExhaustions != 0 || f.left() != 0 {
		t.Errorf("stats = %+v, left %d; want 3 interrupts, 3 completions, no exhaustions, none left", s, f.left())
	}
}

// TestModeInterruptMissed: an interrupt whose handler consumed the cause
// while an interrupt-mode round ran gets its own round before re-arming.
func TestModeInterruptMissed(t *testing.T) {
	f := newFake(t, Config{Mode: ModeInterrupt})
	f.afterPoll = func(call int) {
		if call == 1 {
			f.mu.Lock()
			f.pending++
			f.cause = true
			f.mu.Unlock()
			f.interrupt()
		}
	}
	f.arrive(3)
	drain(t, f.n, 5)
	if s := f.n.Stats(); s.MissedRepolls != 1 || s.Packets != 4 || f.left() != 0 || f.enables != 1 {
		t.Errorf("stats = %+v, enables %d, left %d; want 1 missed repoll, 4 packets, 1 enable", s, f.enables, f.left())
	}
}

func TestModeBusyPoll(t *testing.T) {
	f := newFake(t, Config{Mode: ModeBusyPoll})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.n.Run(ctx); close(done) }()
	// No interrupt is needed: the engine polls from the start.
	f.mu.Lock()
	f.pending = 500
	f.armed = false
	f.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for f.left() != 0 || f.n.Stats().Polls < 20 {
		if time.Now().After(deadline) {
			t.Fatal("busy poll did not drain the ring")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	f.mu.Lock()
	enables := f.enables
	f.mu.Unlock()
	if enables != 0 {
		t.Errorf("busy poll re-armed interrupts %d times", enables)
	}
	if s := f.n.Stats(); s.Packets != 500 || s.Completions != 0 {
		t.Errorf("stats = %+v, want 500 packets and no completions", s)
	}
}

// TestRunNoLostWakeups drives Run from producers and a second interrupt
// source that consumes receive causes while the poll runs (a shared line),
// under the race detector. Every packet must be harvested once traffic stops.
func TestRunNoLostWakeups(t *testing.T) {
	f := newFake(t, Config{Budget: 4})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.n.Run(ctx); close(done) }()

	const producers, perProducer = 4, 2000
	var wg sync.WaitGroup
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				f.arrive(1 + i%3)
			}
		}()
	}
	stop := make(chan struct{})
	shared := make(chan struct{})
	go func() {
		defer close(shared)
		for {
			select {
			case <-stop:
				return
			default:
				f.interrupt()
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-shared

	total := uint64(0)
	for i := range perProducer {
		total += uint64(producers * (1 + i%3))
	}
	deadline := time.Now().Add(20 * time.Second)
	for f.n.Stats().Packets != total || f.n.Scheduled() {
		if time.Now().After(deadline) {
			t.Fatalf("harvested %d of %d packets, %d left in the ring, scheduled=%v",
				f.n.Stats().Packets, total, f.left(), f.n.Scheduled())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if f.left() != 0 {
		t.Errorf("%d packets stranded", f.left())
	}
	s := f.n.Stats()
	var histTotal uint64
	for _, c := range s.PollSizes.Buckets {
		histTotal += c
	}
	if histTotal != s.Polls {
		t.Errorf("histogram holds %d polls, Polls = %d", histTotal, s.Polls)
	}
	if s.Polls != s.BudgetExhaustions+s.Completions+s.MissedRepolls {
		t.Errorf("polls %d != exhaustions %d + completions %d + missed repolls %d",
			s.Polls, s.BudgetExhaustions, s.Completions, s.MissedRepolls)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	f := newFake(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.n.Run(ctx); close(done) }()
	cancel()
	<-done
}

func TestHistogramBuckets(t *testing.T) {
	cases := []struct {
		work, bucket int
		label        string
	}{
		{0, 0, "0"}, {1, 1, "1"}, {2, 2, "2-3"}, {3, 2, "2-3"}, {4, 3, "4-7"},
		{15, 4, "8-15"}, {16, 5, "16-31"}, {63, 6, "32-63"}, {64, 7, "64+"}, {1000, 7, "64+"},
	}
	for _, c := range cases {
		if b := bucket(c.work); b != c.bucket {
			t.Errorf("bucket(%d) = %d, want %d", c.work, b, c.bucket)
		}
		if l := BucketLabel(c.bucket); l != c.label {
			t.Errorf("BucketLabel(%d) = %q, want %q", c.bucket, l, c.label)
		}
	}
}

// TestPollHistogramBounds: the bounds StatsHistogram reports are the
// largest work each bucket holds.
func TestPollHistogramBounds(t *testing.T) {
	upper, counts, sum := PollHistogram{Buckets: [HistogramBuckets]uint64{1, 2, 3, 4, 5, 6, 7, 8}, Packets: 99}.StatsHistogram()
	if len(counts) != HistogramBuckets || len(upper) != HistogramBuckets-1 || sum != 99 {
		t.Fatalf("upper %v counts %v sum %v", upper, counts, sum)
	}
	for i, u := range upper {
		if bucket(int(u)) != i || bucket(int(u)+1) != i+1 {
			t.Errorf("bound %d = %v: work %v is in bucket %d, %v in %d", i, u, u, bucket(int(u)), u+1, bucket(int(u)+1))
		}
	}
}
