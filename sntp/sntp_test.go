package sntp

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tamanet/sntp/sntptest"
)

// fakeServer is an SNTP server on 127.0.0.1 whose clock is the host's
// plus offset; answer shapes each reply (nil: the correct one).
type fakeServer struct{ *sntptest.Server }

func startServer(t *testing.T, offset time.Duration, answer func(req, good []byte) [][]byte) *fakeServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &fakeServer{sntptest.Serve(pc, func() time.Time { return time.Now().Add(offset) }, answer)}
}

func one(b []byte) [][]byte { return [][]byte{b} }

func (s *fakeServer) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "udp", s.Addr().String())
}

func query(t *testing.T, s *fakeServer, timeout time.Duration) (Sample, int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return Query(ctx, conn, time.Now)
}

// The offset is exact within half the round trip, whatever the load: the
// server's clock is the host's plus the offset, read between the
// request's departure and the reply's arrival.
func TestQueryGood(t *testing.T) {
	const offset = time.Hour + 1234*time.Millisecond
	s := startServer(t, offset, nil)
	got, discarded, err := query(t, s, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("offset %v, delay %v", got.Offset, got.Delay)
	// One nanosecond per timestamp conversion.
	if d := (got.Offset - offset).Abs(); d > got.Delay/2+2*time.Nanosecond || got.Delay < 0 || discarded != 0 || got.Stratum != 2 {
		t.Errorf("sample %+v (discarded %d): offset %v off, beyond half the delay", got, discarded, d)
	}
	req := s.Requests()[0]
	if len(req) != packetLen || req[0] != version<<3|modeClient || binary.BigEndian.Uint64(req[offTransmit:]) == 0 {
		t.Errorf("request %x: want 48 bytes, version 4, mode 3, a transmit timestamp", req)
	}
}

// A reply with another originate timestamp is not this request's: it is
// discarded and the real reply after it taken.
func TestQueryDiscardsStale(t *testing.T) {
	s := startServer(t, 0, func(_, good []byte) [][]byte {
		stale := append([]byte(nil), good...)
		stale[offOrigin] ^= 0xFF
		return [][]byte{stale, good[:20], good}
	})
	got, discarded, err := query(t, s, 10*time.Second)
	if err != nil || discarded != 2 {
		t.Fatalf("sample %+v, %d discarded, %v; want the third reply, 2 discarded", got, discarded, err)
	}
}

func TestQueryErrors(t *testing.T) {
	edit := func(f func(b []byte)) func(_, good []byte) [][]byte {
		return func(_, good []byte) [][]byte { f(good); return one(good) }
	}
	for _, c := range []struct {
		name   string
		answer func(req, good []byte) [][]byte
		want   string
	}{
		{"bad mode", edit(func(b []byte) { b[0] = version<<3 | 5 }), "reply in mode 5, want 4"},
		{"client mode echo", edit(func(b []byte) { b[0] = version<<3 | modeClient }), "reply in mode 3"},
		{"kiss of death", edit(func(b []byte) { b[offStratum] = 0; copy(b[offRefID:], "DENY") }), `kiss-of-death "DENY"`},
		{"leap alarm", edit(func(b []byte) { b[0] |= leapAlarm << 6 }), "not synchronized (leap indicator 3)"},
		{"stratum 16", edit(func(b []byte) { b[offStratum] = 16 }), "stratum 16"},
		{"zero transmit", edit(func(b []byte) { clear(b[offTransmit:]) }), "zero receive or transmit"},
		{"wrong origin only", edit(func(b []byte) { b[offOrigin+7]++ }), "no valid reply (1 discarded)"},
		{"silent", func(_, _ []byte) [][]byte { return nil }, "no valid reply (0 discarded)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t, 0, c.answer)
			timeout := 10 * time.Second
			if strings.HasPrefix(c.want, "no valid reply") {
				timeout = 300 * time.Millisecond
			}
			start := time.Now()
			_, _, err := query(t, s, timeout)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if errors.Is(err, ErrNoReply) && time.Since(start) < timeout {
				t.Errorf("gave up after %v, before the %v deadline", time.Since(start), timeout)
			}
		})
	}
}

func TestKissCodes(t *testing.T) {
	for code, refused := range map[string]bool{"DENY": true, "RSTR": true, "RATE": false} {
		if got := (&KissError{Code: code}).Refused(); got != refused {
			t.Errorf("%s: refused %v", code, got)
		}
	}
	if got := kissCode([4]byte{'R', 'A', 0x01, 0}); got != "RA?" {
		t.Errorf("kissCode = %q", got)
	}
}

func TestTimestamps(t *testing.T) {
	for _, s := range []string{"1970-01-01T00:00:00Z", "2026-12-07T18:30:59.123456789Z", "2036-02-07T06:28:15Z",
		"2036-02-07T06:28:16Z", "2040-01-01T00:00:00.5Z"} {
		want, _ := time.Parse(time.RFC3339Nano, s)
		ts := timestampOf(want)
		// The fraction has 2^-32 s steps: round trips lose under 1 ns.
		if got := ts.Time(); got.Sub(want).Abs() > time.Nanosecond {
			t.Errorf("%s: %016x reads back as %v", s, uint64(ts), got)
		}
	}
	// The era boundary: the first second of era 1 has seconds 0.
	if ts := timestampOf(era1); ts != 0 {
		t.Errorf("2036-02-07T06:28:16Z is %016x, want 0 of era 1", uint64(ts))
	}
}

// A client steps its clock by each sync's offset, counts every query as
// a sync or a failure, and stops for good on a refusal.
func TestClient(t *testing.T) {
	var deny bool
	var mu sync.Mutex
	s := startServer(t, 30*time.Second, func(_, good []byte) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		if deny {
			good[offStratum] = 0
			copy(good[offRefID:], "RSTR")
		}
		return one(good)
	})
	var steps []time.Duration
	c := New(Config{Server: "fake", Dial: s.dial, Step: func(d time.Duration) { steps = append(steps, d) }})
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if len(steps) != 1 || st.Syncs != 1 || st.Queries != 1 || st.LastError != "" || st.LastSync == "" ||
		st.OffsetSeconds < 29 || st.OffsetSeconds > 31 || st.Stratum != 2 || st.Server != "fake" {
		t.Fatalf("steps %v, stats %+v", steps, st)
	}

	mu.Lock()
	deny = true
	mu.Unlock()
	done := make(chan struct{})
	go func() { c.Run(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run went on after RSTR")
	}
	st = c.Stats()
	if !st.Refused || st.Failures != 1 || st.Queries != st.Syncs+st.Failures || len(steps) != 1 ||
		!strings.Contains(st.LastError, `sntp fake: kiss-of-death "RSTR"`) {
		t.Errorf("after RSTR: steps %v, stats %+v", steps, st)
	}
}

// A sample with a slow round trip (the first exchange's address
// resolution, QEMU's receive hold) is applied, and followed by another
// query after Retry rather than Poll.
func TestClientRequeriesAfterSlowSample(t *testing.T) {
	var mu sync.Mutex
	first := true
	s := startServer(t, 0, func(_, good []byte) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			time.Sleep(50 * time.Millisecond)
		}
		return one(good)
	})
	var steps atomic.Int32
	stepped := make(chan struct{})
	c := New(Config{Server: "fake", Dial: s.dial, Step: func(time.Duration) {
		if steps.Add(1) == 2 {
			close(stepped)
		}
	}, Poll: time.Hour, Retry: 10 * time.Millisecond, GoodDelay: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	select {
	case <-stepped:
	case <-time.After(time.Minute):
		t.Fatalf("one query in a minute after a slow sample, want a second after Retry: %+v", c.Stats())
	}
	cancel()
	<-done
	if st := c.Stats(); st.Syncs < 2 || st.Queries != st.Syncs+st.Failures {
		t.Errorf("stats %+v", st)
	}
}
