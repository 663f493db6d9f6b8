package service

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// PatternPeriod is the period of the /bytes pattern: byte k of a response
// is PatternByte(k). A prime period makes a shifted or dropped chunk visible
// to a client that checks the data.
const PatternPeriod = 251

// pattern holds whole periods so consecutive writes of it continue the
// sequence; 256 periods is a little under 64 KiB per write.
var pattern = func() []byte {
	p := make([]byte, PatternPeriod*256)
	for i := range p {
		p[i] = PatternByte(int64(i))
	}
	return p
}()

// PatternByte returns byte off of every GET /bytes response.
func PatternByte(off int64) byte { return byte(off % PatternPeriod) }

// PatternSHA256 is the SHA-256 of the first n bytes of every GET /bytes
// response, for clients that check a download whole.
func PatternSHA256(n int64) [sha256.Size]byte {
	h := sha256.New()
	for n > 0 {
		k := min(n, int64(len(pattern)))
		h.Write(pattern[:k])
		n -= k
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// ParseByteCount parses the n parameter of GET /bytes: a decimal integer in
// [0, max].
func ParseByteCount(s string, max int64) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("missing n: use /bytes?n=COUNT")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad n %q: want a decimal count of bytes >= 0", s)
	}
	if n > max {
		return 0, fmt.Errorf("n %d exceeds the limit of %d bytes", n, max)
	}
	return n, nil
}

func (s *Service) serveBytes(w http.ResponseWriter, r *http.Request) {
	n, err := ParseByteCount(r.URL.Query().Get("n"), s.cfg.MaxBytes)
	if err != nil {
		s.c.bytesBad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	for n > 0 {
		chunk := pattern
		if int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		if !writeCounted(w, chunk, &s.c.bytesSent, nil) {
			return // client went away; nothing more to tell it
		}
		n -= int64(len(chunk))
	}
}

// writeCounted writes b to w and counts its bytes in sent, before the
// write: once the peer has them, the counter must already show them. On a
// failed write it takes back what was not written, counts the failure in
// failed (if not nil) and reports false.
func writeCounted(w io.Writer, b []byte, sent, failed *atomic.Uint64) bool {
	sent.Add(uint64(len(b)))
	m, err := w.Write(b)
	if err != nil {
		sent.Add(-uint64(len(b) - m))
		if failed != nil {
			failed.Add(1)
		}
		return false
	}
	return true
}
