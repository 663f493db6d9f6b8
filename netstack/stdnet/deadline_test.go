package stdnet

import (
	"testing"
	"time"
)

// expiresWithin reports whether d's channel closes within bound.
func expiresWithin(d *deadline, bound time.Duration) bool {
	select {
	case <-d.wait():
		return true
	case <-time.After(bound):
		return false
	}
}

func expired(d *deadline) bool {
	select {
	case <-d.wait():
		return true
	default:
		return false
	}
}

// TestDeadlineRearmsOneTimer: every set re-arms the same timer, and each
// arming expires the deadline again.
func TestDeadlineRearmsOneTimer(t *testing.T) {
	var d deadline
	d.set(time.Now().Add(time.Millisecond))
	first := d.timer
	for i := range 3 {
		if !expiresWithin(&d, 10*time.Second) {
			t.Fatalf("arming %d: no expiry", i)
		}
		d.set(time.Now().Add(time.Millisecond))
		if d.timer != first {
			t.Fatalf("arming %d made a new timer", i)
		}
	}
}

// TestDeadlineStaleFire: a firing that set overtook (the deadline moved
// later or cleared) does nothing; a due one expires the deadline.
func TestDeadlineStaleFire(t *testing.T) {
	var d deadline
	d.set(time.Now().Add(time.Hour))
	d.fire()
	if expired(&d) {
		t.Fatal("a fire an hour early expired the deadline")
	}
	d.set(time.Time{})
	d.fire()
	if expired(&d) {
		t.Fatal("a fire after clearing expired the deadline")
	}
	d.set(time.Now().Add(time.Millisecond))
	if !expiresWithin(&d, 10*time.Second) {
		t.Fatal("no expiry after clearing and setting again")
	}
	// Moving an expired deadline into the future makes a new channel.
	d.set(time.Now().Add(time.Hour))
	if expired(&d) {
		t.Fatal("moved into the future, still expired")
	}
	d.set(time.Unix(1, 0))
	if !expired(&d) {
		t.Fatal("a deadline in the past did not expire at once")
	}
}

// TestDeadlineMovedEarlier: a deadline moved earlier than the armed timer
// expires on time, one moved later expires only when the timer, firing
// early, has re-armed for it.
func TestDeadlineMovedEarlier(t *testing.T) {
	var d deadline
	d.set(time.Now().Add(time.Hour))
	d.set(time.Now().Add(time.Millisecond))
	if !expiresWithin(&d, 10*time.Second) {
		t.Fatal("a deadline moved earlier did not expire")
	}
	d.set(time.Now().Add(time.Millisecond))
	later := time.Now().Add(20 * time.Millisecond)
	d.set(later)
	if !expiresWithin(&d, 10*time.Second) {
		t.Fatal("a deadline moved later did not expire")
	}
	if now := time.Now(); now.Before(later) {
		t.Fatalf("expired %v before the deadline", later.Sub(now))
	}
}
