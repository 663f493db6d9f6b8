// Package sntp is a Simple Network Time Protocol client (RFC 4330): one
// request to one server, its reply checked (mode, stratum, leap indicator,
// the originate timestamp against the request's), and the local clock's
// offset from the server and the round-trip delay worked out from the four
// timestamps. It runs over any connected UDP socket (net.Conn), so the
// same code runs on gVisor's stack in the unikernel and on the host in its
// tests.
package sntp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
)

// Sample is one exchange's measurement.
type Sample struct {
	// Offset is what to add to the local clock to read the server's: the
	// mean of the two one-way differences, exact when the paths there and
	// back take equally long, and never off by more than Delay/2.
	Offset time.Duration
	// Delay is the round trip less the server's time between receiving
	// the request and sending the reply.
	Delay time.Duration
	// Stratum is the server's distance from a reference clock (1: it has
	// one).
	Stratum uint8
}

// ErrNoReply is the error of a query whose server sent no valid reply
// before the deadline.
var ErrNoReply = errors.New("no valid reply")

// Query sends one request on conn (a UDP socket connected to the server)
// and waits for its reply until ctx ends. Replies that are not for this
// request (short, or with another originate timestamp: a stale or forged
// packet) are discarded, counted in discarded, and the wait goes on;
// a reply for it that fails the checks ends the query with an error (a
// *KissError for a kiss-of-death). now is the local clock (time.Now).
func Query(ctx context.Context, conn net.Conn, now func() time.Time) (s Sample, discarded int, err error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Sample{}, 0, err
	}
	nonce := ntpTimestamp(binary.BigEndian.Uint64(b[:]))
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	// A context cancelled before its deadline ends the wait too.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	t1 := now()
	if _, err := conn.Write(request(nonce)); err != nil {
		return Sample{}, 0, fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, 512)
	for {
		n, err := conn.Read(buf)
		t4 := now()
		if err != nil {
			if ctx.Err() != nil {
				return Sample{}, discarded, fmt.Errorf("%w (%d discarded): %w", ErrNoReply, discarded, ctx.Err())
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return Sample{}, discarded, fmt.Errorf("%w (%d discarded): %w", ErrNoReply, discarded, context.DeadlineExceeded)
			}
			return Sample{}, discarded, fmt.Errorf("receive: %w", err)
		}
		r, err := parseReply(buf[:n])
		if err != nil || r.origin != nonce {
			discarded++
			continue
		}
		if err := r.check(); err != nil {
			return Sample{}, discarded, err
		}
		return measure(t1, r.receive.Time(), r.transmit.Time(), t4, r.stratum), discarded, nil
	}
}

// measure works out the offset and delay (RFC 4330 section 5) from the
// request's departure t1 and the reply's arrival t4 on the local clock,
// and the server's receipt t2 and reply t3 on its clock. The local span
// t4-t1 comes from the monotonic clock where now gave one.
func measure(t1, t2, t3, t4 time.Time, stratum uint8) Sample {
	return Sample{
		Offset:  (t2.Sub(t1) + t3.Sub(t4)) / 2,
		Delay:   t4.Sub(t1) - t3.Sub(t2),
		Stratum: stratum,
	}
}
