package service

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHTTPEchoRoundTrip(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	body := make([]byte, 1<<20+17)
	for i := range body {
		body[i] = byte(i * 7)
	}
	resp, err := http.Post(ts.URL+"/echo", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("status %d, %d bytes back, err %v", resp.StatusCode, len(got), err)
	}
	if n := s.Snapshot(); n.EchoBytes != uint64(len(body)) || n.HTTPRouteRequests["/echo"] != 1 {
		t.Fatalf("counters %+v", n)
	}
}

func TestHTTPEchoEmpty(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	resp, err := http.Post(ts.URL+"/echo", "text/plain", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b) != 0 {
		t.Fatalf("status %d body %q", resp.StatusCode, b)
	}
}

// TestHTTPEchoStreams sends a chunked body piece by piece and reads each
// piece back before sending the next: a server that buffered the body would
// deadlock here (bounded by the context deadline).
func TestHTTPEchoStreams(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/echo", pr)
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			pr.Close()
		}
		done <- resp
	}()
	var resp *http.Response
	for i, piece := range []string{"one", "two", "three"} {
		if _, err := pw.Write([]byte(piece)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			resp = <-done
			if resp == nil {
				t.Fatal("no response")
			}
			defer resp.Body.Close()
		}
		got := make([]byte, len(piece))
		if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != piece {
			t.Fatalf("piece %d: %q %v", i, got, err)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Fatalf("tail %q %v", rest, err)
	}
}

func TestHTTPEchoTooLarge(t *testing.T) {
	s, ts := newTestServer(t, Config{MaxEcho: 100})
	resp, err := http.Post(ts.URL+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 101)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(b), "exceeds the limit of 100") {
		t.Fatalf("status %d %q", resp.StatusCode, b)
	}
	// Without Content-Length the limit is found while reading; the first
	// read sees it, so the client still gets a 413.
	req, _ := http.NewRequest("POST", ts.URL+"/echo", io.MultiReader(strings.NewReader(strings.Repeat("y", 200))))
	req.ContentLength = -1
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked: status %d", resp.StatusCode)
	}
	if n := s.Snapshot(); n.EchoTooLarge != 2 || n.EchoBytes != 0 {
		t.Fatalf("counters %+v", n)
	}
}

func listenTCP(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestTCPEcho(t *testing.T) {
	s := New(Config{})
	ln := listenTCP(t)
	served := make(chan error, 1)
	go func() { served <- s.ServeTCPEcho(ln) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("echo!"), 20000)
	go func() { c.Write(msg); c.(*net.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("%d bytes back, err %v", len(got), err)
	}
	ln.Close()
	if err := <-served; err != nil {
		t.Fatalf("ServeTCPEcho after close: %v", err)
	}
	if n := s.Snapshot(); n.TCPEchoConnections != 1 || n.TCPEchoBytes != uint64(len(msg)) || n.TCPEchoErrors != 0 {
		t.Fatalf("counters %+v", n)
	}
}

func TestUDPEcho(t *testing.T) {
	s := New(Config{})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeUDPEcho(pc) }()

	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2000)
	for _, msg := range []string{"a", strings.Repeat("b", 1400)} {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("got %q %v", buf[:n], err)
		}
	}
	pc.Close()
	if err := <-served; err != nil {
		t.Fatalf("ServeUDPEcho after close: %v", err)
	}
	if n := s.Snapshot(); n.UDPEchoPackets != 2 || n.UDPEchoBytes != 1401 {
		t.Fatalf("counters %+v", n)
	}
}

// failingListener returns a permanent error, which must end ServeTCPEcho
// with that error and count it.
type failingListener struct{ net.Listener }

func (failingListener) Accept() (net.Conn, error) { return nil, io.ErrUnexpectedEOF }

func TestTCPEchoAcceptError(t *testing.T) {
	s := New(Config{})
	ln := listenTCP(t)
	defer ln.Close()
	if err := s.ServeTCPEcho(failingListener{ln}); err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v", err)
	}
	if s.Snapshot().AcceptErrors != 1 {
		t.Fatal("accept error not counted")
	}
}
