package sntp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The NTP packet (RFC 4330 section 4): 48 bytes without the optional
// authenticator.
const (
	packetLen = 48

	offStratum  = 1
	offRefID    = 12
	offOrigin   = 24
	offReceive  = 32
	offTransmit = 40

	version = 4

	modeClient = 3
	modeServer = 4

	leapAlarm = 3 // leap indicator: the server's clock is not synchronized

	// maxStratum is the last synchronized stratum; 16 means unsynchronized.
	maxStratum = 15
)

// ntpTimestamp is the 64-bit NTP timestamp: seconds since 1900 in the high
// 32 bits, the fraction of a second in the low 32.
type ntpTimestamp uint64

// The NTP era that starts in 1900 ends in 2036; RFC 4330 section 3 reads a
// timestamp whose top bit is clear as the next era's, which starts
// 2036-02-07 06:28:16 UTC.
var (
	era0 = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	era1 = era0.Add(1 << 32 * time.Second)
)

// Time converts the timestamp, in the era RFC 4330 assigns it.
func (ts ntpTimestamp) Time() time.Time {
	sec, frac := uint32(ts>>32), uint32(ts)
	base := era0
	if sec&(1<<31) == 0 {
		base = era1
	}
	return base.Add(time.Duration(sec)*time.Second + time.Duration(uint64(frac)*1e9>>32))
}

// timestampOf converts t to the NTP timestamp of its era.
func timestampOf(t time.Time) ntpTimestamp {
	base := era0
	if !t.Before(era1) {
		base = era1
	}
	d := t.Sub(base)
	sec := uint64(d / time.Second)
	frac := uint64(d%time.Second) << 32 / 1e9
	return ntpTimestamp(sec<<32 | frac)
}

// request is a client request whose transmit timestamp is nonce: the
// server copies it to its reply's originate timestamp, which ties the
// reply to this request. A random nonce rather than the time keeps the
// client's clock private and the reply unguessable to an off-path sender.
func request(nonce ntpTimestamp) []byte {
	b := make([]byte, packetLen)
	b[0] = version<<3 | modeClient
	binary.BigEndian.PutUint64(b[offTransmit:], uint64(nonce))
	return b
}

// reply is what a server's answer says.
type reply struct {
	leap, mode, stratum uint8
	refID               [4]byte
	origin              ntpTimestamp
	receive, transmit   ntpTimestamp
}

func parseReply(b []byte) (reply, error) {
	if len(b) < packetLen {
		return reply{}, fmt.Errorf("%d-byte reply, shorter than an NTP packet (%d)", len(b), packetLen)
	}
	r := reply{
		leap:     b[0] >> 6,
		mode:     b[0] & 7,
		stratum:  b[offStratum],
		origin:   ntpTimestamp(binary.BigEndian.Uint64(b[offOrigin:])),
		receive:  ntpTimestamp(binary.BigEndian.Uint64(b[offReceive:])),
		transmit: ntpTimestamp(binary.BigEndian.Uint64(b[offTransmit:])),
	}
	copy(r.refID[:], b[offRefID:])
	return r, nil
}

// KissError is a kiss-of-death reply (RFC 4330 section 8): stratum 0, the
// reference identifier holding a code. DENY and RSTR mean the server will
// not serve this client; RATE that it asks too often.
type KissError struct {
	Code string
}

func (e *KissError) Error() string {
	return fmt.Sprintf("kiss-of-death %q from the server (stratum 0)", e.Code)
}

// Refused reports whether the code tells the client to stop asking.
func (e *KissError) Refused() bool { return e.Code == "DENY" || e.Code == "RSTR" }

// errNotSynchronized is a server that says its own clock is not set.
var errNotSynchronized = errors.New("the server's clock is not synchronized (leap indicator 3)")

// check validates a reply to a request carrying nonce (RFC 4330 section
// 5): it must be a server's, not a kiss-of-death, from a synchronized
// server, with its timestamps set.
func (r reply) check() error {
	switch {
	case r.mode != modeServer:
		return fmt.Errorf("reply in mode %d, want %d (server)", r.mode, modeServer)
	case r.stratum == 0:
		return &KissError{Code: kissCode(r.refID)}
	case r.leap == leapAlarm:
		return errNotSynchronized
	case r.stratum > maxStratum:
		return fmt.Errorf("stratum %d: the server is not synchronized", r.stratum)
	case r.transmit == 0 || r.receive == 0:
		return errors.New("reply with a zero receive or transmit timestamp")
	}
	return nil
}

// kissCode is the reference identifier as printable ASCII.
func kissCode(id [4]byte) string {
	b := make([]byte, 0, 4)
	for _, c := range id {
		if c == 0 {
			break
		}
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b)
}
