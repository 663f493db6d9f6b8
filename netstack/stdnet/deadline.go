package stdnet

import (
	"sync"
	"time"
)

// deadline is one direction's deadline of a socket: a channel closed once
// it has passed. A goroutine blocked on it wakes when the deadline passes,
// also when it is moved into the past while the goroutine waits (how
// net/http aborts a background read); moving it elsewhere keeps the same
// channel and only rearms the timer.
//
// The timer is made once and never stopped: net/http sets and clears read
// deadlines several times per request, and a time.AfterFunc each time was
// a few per cent of the guest's CPU under load. set re-arms it only to
// fire earlier; when it fires, it expires the deadline if that is due,
// re-arms for a later one and does nothing if there is none.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	when    time.Time // the deadline; zero when none or passed
	due     time.Time // when the timer fires; zero when it is not armed
	done    chan struct{}
	expired bool
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = time.Time{}
	if d.done == nil || d.expired {
		d.done, d.expired = make(chan struct{}), false
	}
	if t.IsZero() {
		return
	}
	now := time.Now()
	wait := t.Sub(now)
	if wait <= 0 {
		d.expire()
		return
	}
	d.when = t
	// A timer due no later than t stays: fire re-arms it for the rest.
	switch due := now.Add(wait); {
	case d.timer == nil:
		d.timer, d.due = time.AfterFunc(wait, d.fire), due
	case d.due.IsZero() || due.Before(d.due):
		d.timer.Reset(wait)
		d.due = due
	}
}

// fire is the timer's function: it expires the deadline if it is armed
// and due. One not due yet (moved later, or a wall-clock deadline after
// the clock was set back) re-arms the timer for what remains.
func (d *deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.due = time.Time{}
	if d.when.IsZero() {
		return
	}
	if rest := time.Until(d.when); rest > 0 {
		d.timer.Reset(rest)
		d.due = time.Now().Add(rest)
		return
	}
	d.when = time.Time{}
	d.expire()
}

// stop disarms the timer, which holds on to the socket until it fires: for
// Close.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.due = time.Time{}
}

func (d *deadline) expire() {
	close(d.done)
	d.expired = true
}

// wait is closed once the deadline has passed.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done == nil {
		d.done = make(chan struct{})
	}
	return d.done
}
