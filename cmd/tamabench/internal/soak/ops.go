package soak

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"tamanet/cmd/internal/service"
)

// Sizes of the checked echoes.
const (
	tcpEchoBytes = 16 << 10
	udpEchoBytes = 1024
	udpTries     = 3
)

// worker is one load loop: a name for the report and the operation it
// repeats, which returns the payload bytes it checked.
type worker struct {
	name string
	op   func(context.Context) (int64, error)
}

// workers returns the mixed load, one loop per kind.
func (r *run) workers() []worker {
	c := r.cfg
	keepAlive := &http.Client{Timeout: c.Timeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
	newConn := &http.Client{Timeout: c.Timeout, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	bulk := &http.Client{Timeout: 10 * c.Timeout, Transport: &http.Transport{Proxy: nil, DisableCompression: true}}
	want := service.PatternSHA256(c.BulkBytes)
	root := "http://" + c.HTTP + "/"
	var seed uint64
	return []worker{
		{"get_keepalive", func(ctx context.Context) (int64, error) { return getRoot(ctx, keepAlive, root) }},
		{"get_newconn", func(ctx context.Context) (int64, error) { return getRoot(ctx, newConn, root) }},
		{"download", func(ctx context.Context) (int64, error) {
			return download(ctx, bulk, fmt.Sprintf("http://%s/bytes?n=%d", c.HTTP, c.BulkBytes), c.BulkBytes, want)
		}},
		{"upload", func(ctx context.Context) (int64, error) {
			seed++
			return upload(ctx, bulk, "http://"+c.HTTP+"/echo", c.BulkBytes, seed)
		}},
		{"tcp_echo", r.tcpEcho()},
		{"udp_echo", r.udpEcho()},
	}
}

// getRoot fetches GET / and checks its greeting.
func getRoot(ctx context.Context, c *http.Client, url string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return 0, err
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("GET /: %s", resp.Status)
	case !strings.HasPrefix(string(b), "hello from "):
		return 0, fmt.Errorf("GET /: %w: %q", errMismatch, b)
	}
	return int64(len(b)), nil
}

// download fetches n bytes of the service's pattern and checks their
// SHA-256.
func download(ctx context.Context, c *http.Client, url string, n int64, want [sha256.Size]byte) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /bytes: %s", resp.Status)
	}
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	switch {
	case err != nil:
		return 0, fmt.Errorf("GET /bytes: after %d bytes: %w", got, err)
	case got != n:
		return 0, fmt.Errorf("GET /bytes: %d bytes, want %d", got, n)
	case !bytes.Equal(h.Sum(nil), want[:]):
		return 0, fmt.Errorf("GET /bytes: SHA-256: %w", errMismatch)
	}
	return n, nil
}

// upload posts n pseudo-random bytes to /echo and checks the echo's
// SHA-256 against the body's.
func upload(ctx context.Context, c *http.Client, url string, n int64, seed uint64) (int64, error) {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	sent := sha256.New()
	body := io.TeeReader(io.LimitReader(rand.NewChaCha8(key), n), sent)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	req.ContentLength = n
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("POST /echo: %s", resp.Status)
	}
	back := sha256.New()
	got, err := io.Copy(back, resp.Body)
	switch {
	case err != nil:
		return 0, fmt.Errorf("POST /echo: after %d bytes back: %w", got, err)
	case got != n:
		return 0, fmt.Errorf("POST /echo: %d bytes back, want %d", got, n)
	case !bytes.Equal(sent.Sum(nil), back.Sum(nil)):
		return 0, fmt.Errorf("POST /echo: SHA-256: %w", errMismatch)
	}
	return 2 * n, nil
}

// tcpEcho returns an operation that sends a random block on one TCP echo
// connection and compares what comes back, reconnecting after a failure.
func (r *run) tcpEcho() func(context.Context) (int64, error) {
	var conn net.Conn
	in := make([]byte, tcpEchoBytes)
	rng := rand.New(rand.NewPCG(1, 2))
	return func(ctx context.Context) (int64, error) {
		// A fresh block each time: a writer left behind by a failed
		// round may still be reading the last one.
		out := make([]byte, tcpEchoBytes)
		if conn == nil {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", r.cfg.TCP)
			if err != nil {
				return 0, err
			}
			conn = c
		}
		for i := range out {
			out[i] = byte(rng.Uint32())
		}
		conn.SetDeadline(time.Now().Add(r.cfg.Timeout))
		go conn.Write(out)
		_, err := io.ReadFull(conn, in)
		if err == nil && !bytes.Equal(in, out) {
			err = fmt.Errorf("TCP echo: %w", errMismatch)
		}
		if err != nil {
			conn.Close()
			conn = nil
			return 0, err
		}
		return 2 * tcpEchoBytes, nil
	}
}

// udpEcho returns an operation that sends a datagram to the UDP echo port
// and compares the reply, trying udpTries times: a datagram may be lost,
// three in a row are a failure.
func (r *run) udpEcho() func(context.Context) (int64, error) {
	var seq uint64
	buf := make([]byte, 2*udpEchoBytes)
	return func(ctx context.Context) (int64, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "udp", r.cfg.UDP)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		var sent [][]byte
		for try := 1; ; try++ {
			seq++
			msg := bytes.Repeat(fmt.Appendf(nil, "%016x", seq), udpEchoBytes/16)
			sent = append(sent, msg)
			if _, err := c.Write(msg); err != nil {
				return 0, err
			}
			c.SetReadDeadline(time.Now().Add(r.cfg.Timeout / udpTries))
			for {
				n, err := c.Read(buf)
				if err != nil {
					if try == udpTries || ctx.Err() != nil {
						return 0, fmt.Errorf("UDP echo: no reply to %d datagrams: %w", try, err)
					}
					break // try again
				}
				switch {
				case bytes.Equal(buf[:n], msg):
					return 2 * udpEchoBytes, nil
				case slices.ContainsFunc(sent, func(m []byte) bool { return bytes.Equal(buf[:n], m) }):
					// A late reply to an earlier try.
				default:
					return 0, fmt.Errorf("UDP echo: %w (%d bytes back)", errMismatch, n)
				}
			}
		}
	}
}
