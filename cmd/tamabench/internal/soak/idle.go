package soak

import (
	"context"
	"io"
	"net"
	"sync"
	"time"
)

// openIdle opens cfg.Idle TCP echo connections, one after the other, has
// each echo a byte (so it reaches the target, not only a port forward
// that connects later), and leaves them idle. It records how many it
// opened; the rest of the run goes on regardless.
func (r *run) openIdle(ctx context.Context) []net.Conn {
	var conns []net.Conn
	var d net.Dialer
	for i := range r.cfg.Idle {
		t0 := time.Now()
		dctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		c, err := d.DialContext(dctx, "tcp", r.cfg.TCP)
		cancel()
		if err == nil {
			if err = echoByte(c, byte(i), t0.Add(r.cfg.Timeout)); err != nil {
				c.Close()
			}
		}
		if err != nil {
			r.fail("idle_open", t0, time.Now(), err)
			continue
		}
		conns = append(conns, c)
	}
	r.rep.Idle.Opened = len(conns)
	r.logf("%4.0fs  %d idle connections open", r.since(time.Now()), len(conns))
	return conns
}

// echoByte sends b on c and checks it comes back before deadline.
func echoByte(c net.Conn, b byte, deadline time.Time) error {
	c.SetDeadline(deadline)
	defer c.SetDeadline(time.Time{})
	got := []byte{^b}
	if _, err := c.Write([]byte{b}); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if got[0] != b {
		return errMismatch
	}
	return nil
}

// checkIdle makes each idle connection echo one byte, counts those that
// did, and closes them all.
func (r *run) checkIdle(conns []net.Conn) {
	var mu sync.Mutex
	held := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, c := range conns {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			defer c.Close()
			t0 := time.Now()
			if err := echoByte(c, byte(i), t0.Add(r.cfg.Timeout)); err != nil {
				r.fail("idle_echo", t0, time.Now(), err)
				return
			}
			r.count("idle_echo", 2)
			mu.Lock()
			held++
			mu.Unlock()
		})
	}
	wg.Wait()
	r.rep.Idle.Held = held
}
