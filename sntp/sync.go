package sntp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultTimeout = 5 * time.Second
	// DefaultPoll is NTP's longest standard poll interval (2^10 s).
	DefaultPoll = 1024 * time.Second
	// MinRetry is RFC 4330 section 10's floor: a client never polls more
	// often than every 15 s.
	MinRetry = 16 * time.Second
	// DefaultGoodDelay is the longest round trip of a sample that is
	// trusted until the next Poll.
	DefaultGoodDelay = 100 * time.Millisecond
)

// Config is a synchronizing client's server, socket and clock.
type Config struct {
	// Server names the server in Stats and messages.
	Server string
	// Dial opens a UDP socket connected to the server.
	Dial func(ctx context.Context) (net.Conn, error)
	// Step sets the local clock forward (or back) by offset.
	Step func(offset time.Duration)
	// Timeout bounds each query (DefaultTimeout if 0); Poll is the wait
	// after a sync (DefaultPoll if 0); Retry the first wait after a
	// failure (MinRetry if 0 or less), doubled after each further one up
	// to Poll.
	Timeout, Poll, Retry time.Duration
	// GoodDelay is the longest round trip of a sample after which the
	// next query waits the whole Poll (DefaultGoodDelay if 0). A slower
	// sample is applied (it is off by half its round trip at most) but
	// followed by a query as after a failure: the first exchange
	// often waits for address resolution on the way out, or on the way
	// back behind QEMU's e1000 receive hold, and its offset takes half
	// that wait.
	GoodDelay time.Duration
	// Now is the local clock (time.Now if nil).
	Now func() time.Time
	// Log prints a line (nothing if nil).
	Log func(string)
}

// Client synchronizes the local clock with one server: a query at once,
// then one per Poll, sooner (with backoff) after a failure or a slow
// round trip; it stops for good on a kiss-of-death that refuses it (DENY,
// RSTR).
type Client struct {
	cfg Config

	mu sync.Mutex
	st Stats
}

// Stats is the client's state and counters. Every query ends in exactly
// one of Syncs or Failures.
type Stats struct {
	Server string `json:"server"`
	// OffsetSeconds and DelaySeconds are the last sync's clock offset
	// (what the clock was stepped by) and round-trip delay; Stratum the
	// server's then.
	OffsetSeconds float64 `json:"offset_seconds"`
	DelaySeconds  float64 `json:"delay_seconds"`
	Stratum       int     `json:"stratum" metric:"gauge"`
	// LastSync is when the last sync stepped the clock (RFC 3339, UTC, by
	// the clock after the step); "" before the first.
	LastSync string `json:"last_sync"`
	// LastError is why the latest query failed, "" if it succeeded.
	LastError string `json:"last_error"`
	// Queries counts the queries made (a request sent, or a socket that
	// could not be opened); Syncs those that stepped the clock; Failures
	// those that did not (no socket, no reply, a bad one, a
	// kiss-of-death); Discarded the replies that were not for the
	// request they came in on (stale, forged, short).
	Queries   uint64 `json:"queries"`
	Syncs     uint64 `json:"syncs"`
	Failures  uint64 `json:"failures"`
	Discarded uint64 `json:"discarded"`
	// Refused says a kiss-of-death (DENY, RSTR) stopped the client.
	Refused bool `json:"refused"`
}

// New returns a client; Run starts it.
func New(cfg Config) *Client {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Retry <= 0 {
		cfg.Retry = MinRetry
	}
	if cfg.GoodDelay == 0 {
		cfg.GoodDelay = DefaultGoodDelay
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = func(string) {}
	}
	return &Client{cfg: cfg, st: Stats{Server: cfg.Server}}
}

// Sync runs one query and, if it gives a sample, steps the clock by its
// offset.
func (c *Client) Sync(ctx context.Context) (Sample, error) {
	s, discarded, err := c.query(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.Queries++
	c.st.Discarded += uint64(discarded)
	if err != nil {
		err = fmt.Errorf("sntp %s: %w", c.cfg.Server, err)
		c.st.Failures++
		c.st.LastError = err.Error()
		var kiss *KissError
		c.st.Refused = errors.As(err, &kiss) && kiss.Refused()
		return Sample{}, err
	}
	c.cfg.Step(s.Offset)
	c.st.Syncs++
	c.st.LastError = ""
	c.st.OffsetSeconds = s.Offset.Seconds()
	c.st.DelaySeconds = s.Delay.Seconds()
	c.st.Stratum = int(s.Stratum)
	c.st.LastSync = c.cfg.Now().UTC().Format(time.RFC3339Nano)
	return s, nil
}

// query opens a socket, queries the server on it within Timeout, and
// closes it.
func (c *Client) query(ctx context.Context) (Sample, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	conn, err := c.cfg.Dial(ctx)
	if err != nil {
		return Sample{}, 0, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	return Query(ctx, conn, c.cfg.Now)
}

// Run syncs until ctx ends or the server refuses the client, logging the
// first sync, every failure and the first sync after failures.
func (c *Client) Run(ctx context.Context) {
	retry := c.cfg.Retry
	failed, synced := false, false
	for {
		s, err := c.Sync(ctx)
		var kiss *KissError
		switch {
		case errors.As(err, &kiss) && kiss.Refused():
			c.cfg.Log(err.Error())
			c.cfg.Log(fmt.Sprintf("sntp %s: refused (%s): no more queries", c.cfg.Server, kiss.Code))
			return
		case err != nil:
			c.cfg.Log(err.Error())
			failed = true
		case failed || !synced:
			c.cfg.Log(fmt.Sprintf("sntp %s: clock stepped by %v (round trip %v, stratum %d)",
				c.cfg.Server, s.Offset, s.Delay, s.Stratum))
			failed, synced = false, true
		}
		// A failure or a slow sample brings the next query sooner,
		// backing off to Poll.
		wait := c.cfg.Poll
		if err != nil || s.Delay > c.cfg.GoodDelay {
			wait, retry = retry, min(2*retry, c.cfg.Poll)
		} else {
			retry = c.cfg.Retry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Stats takes a snapshot.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}
