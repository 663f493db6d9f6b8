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
// The timer is made once and re-armed by every set: net/http sets a read
// deadline per request, and a new time.AfterFunc each time was a few per
// cent of the guest's CPU under load. A firing that set has overtaken
// (Stop came too late) finds the deadline moved or cleared and does
// nothing.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	when    time.Time // the armed deadline; zero when none
	done    chan struct{}
	expired bool
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.when = time.Time{}
	if d.done == nil || d.expired {
		d.done, d.expired = make(chan struct{}), false
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.expire()
		return
	}
	d.when = t
	if d.timer == nil {
		d.timer = time.AfterFunc(wait, d.fire)
	} else {
		d.timer.Reset(wait)
	}
}

// fire is the timer's function: it expires the deadline if it is armed
// and due. One not due yet (moved later, or a wall-clock deadline after
// the clock was set back) re-arms the timer for what remains.
func (d *deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.when.IsZero() {
		return
	}
	if rest := time.Until(d.when); rest > 0 {
		d.timer.Reset(rest)
		return
	}
	d.when = time.Time{}
	d.expire()
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
