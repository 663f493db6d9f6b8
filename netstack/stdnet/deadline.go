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
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	gen     uint64 // bumped by set, so a timer stopped too late does nothing
	done    chan struct{}
	expired bool
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.gen++
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
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			d.expire()
		}
	})
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
