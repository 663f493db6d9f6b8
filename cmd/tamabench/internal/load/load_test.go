package load

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tamanet/cmd/internal/service"
	"tamanet/cmd/tamabench/internal/result"
)

// target is an in-process service on 127.0.0.1: HTTP plus TCP and UDP echo.
type target struct {
	http, tcp, udp string
}

func startTarget(t *testing.T) target {
	t.Helper()
	svc := service.New(service.Config{Name: "test"})
	ts := httptest.NewServer(svc.Handler())
	t.Cleanup(ts.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	go svc.ServeTCPEcho(ln)
	go svc.ServeUDPEcho(pc)
	return target{http: ts.Listener.Addr().String(), tcp: ln.Addr().String(), udp: pc.LocalAddr().String()}
}

func quick() Options {
	o := DefaultOptions()
	o.Duration, o.Warmup, o.MaxOps = 0, 0, 20
	o.BulkBytes = 300000
	o.Timeout = 5 * time.Second
	return o
}

func TestAllTestsAgainstService(t *testing.T) {
	tg := startTarget(t)
	ctx := context.Background()
	o := quick()
	// Each entry returns the count, errors, first error and whether the
	// result has the shape its kind promises.
	tests := map[string]func() (uint64, uint64, string, bool){}
	add := func(name string, f func() (uint64, uint64, string, bool)) { tests[name] = f }
	add("keepalive", func() (uint64, uint64, string, bool) {
		r := HTTPLatency(ctx, tg.http, true, o)
		return r.Count, r.Errors, r.FirstError, r.Latency != nil && r.HDR != "" && r.Name == TestKeepAlive
	})
	add("newconn", func() (uint64, uint64, string, bool) {
		r := HTTPLatency(ctx, tg.http, false, o)
		return r.Count, r.Errors, r.FirstError, r.Latency != nil && r.Name == TestNewConn
	})
	add("tcpecho", func() (uint64, uint64, string, bool) {
		r := TCPEcho(ctx, tg.tcp, o)
		return r.Count, r.Errors, r.FirstError, r.Latency != nil
	})
	add("udpecho", func() (uint64, uint64, string, bool) {
		r := UDPEcho(ctx, tg.udp, o)
		return r.Count, r.Errors, r.FirstError, r.Latency != nil
	})
	add("rps4", func() (uint64, uint64, string, bool) {
		r := RPS(ctx, tg.http, 4, o)
		return r.Count, r.Errors, r.FirstError, r.Latency != nil && r.Concurrency == 4 && r.RPS > 0 && r.Name == "rps_c4"
	})
	add("download", func() (uint64, uint64, string, bool) {
		r := Download(ctx, tg.http, o)
		return r.Count, r.Errors, r.FirstError, r.Latency == nil && r.MBps > 0 && r.Bytes == r.Count*uint64(o.BulkBytes)
	})
	add("upload", func() (uint64, uint64, string, bool) {
		r := Upload(ctx, tg.http, o)
		return r.Count, r.Errors, r.FirstError, r.Latency == nil && r.MBps > 0 && r.Bytes == r.Count*uint64(o.BulkBytes)
	})
	for name, f := range tests {
		count, errs, first, shape := f()
		if count < uint64(o.MaxOps) || errs != 0 || !shape {
			t.Errorf("%s: count %d errors %d (%s) shape ok %v", name, count, errs, first, shape)
		}
	}
}

func TestErrorsCounted(t *testing.T) {
	// A port nobody listens on: bind, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	o := quick()
	o.MaxOps = 3
	r := HTTPLatency(context.Background(), dead, true, o)
	if r.Count != 0 || r.Errors != 3 || !strings.Contains(r.FirstError, "refused") || r.Latency != nil {
		t.Fatalf("got %+v", r)
	}
}

// A server whose /bytes is off by one byte must fail the download check.
func TestDownloadVerifiesPattern(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 1000)
		for i := range b {
			b[i] = service.PatternByte(int64(i + 1))
		}
		w.Write(b)
	}))
	defer ts.Close()
	o := quick()
	o.MaxOps, o.BulkBytes = 1, 1000
	r := Download(context.Background(), ts.Listener.Addr().String(), o)
	if r.Count != 0 || r.Errors != 1 || !strings.Contains(r.FirstError, "byte 0 is 0x01, want 0x00") {
		t.Fatalf("got %+v", r)
	}
}

// A UDP peer that never answers: every datagram is lost within Timeout.
func TestUDPLossCounted(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	o := quick()
	o.MaxOps, o.Timeout = 2, 50*time.Millisecond
	r := UDPEcho(context.Background(), pc.LocalAddr().String(), o)
	if r.Count != 0 || r.Errors != 2 || !strings.Contains(r.FirstError, "lost") {
		t.Fatalf("got %+v", r)
	}
}

// TestWaitFirst200: the first 200 ends the wait; the 503s answered before it
// are counted as failed attempts. Attempts overlap (one starts every
// interval), so a 503 may still be on its way back when the 200 arrives:
// up to two are counted, those that came back first.
func TestWaitFirst200(t *testing.T) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "booting", http.StatusServiceUnavailable)
		}
	}))
	defer ts.Close()
	start := time.Now()
	r, err := WaitFirst200(context.Background(), ts.URL+"/", start, BootProbe{Interval: time.Millisecond})
	if err != nil || r.Count != 1 || r.Errors > 2 || r.ElapsedMS <= 0 || (r.Errors > 0 && !strings.Contains(r.FirstError, "503")) {
		t.Fatalf("got %+v, %v", r, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ts.Close()
	if _, err := WaitFirst200(ctx, ts.URL+"/", start, BootProbe{Interval: time.Millisecond}); err == nil {
		t.Fatal("no error from a dead target")
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, a := range []string{"127.0.0.1:80", "127.3.2.1:1", "[::1]:7", "localhost:8080"} {
		if err := CheckLoopback(a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"10.0.2.15:80", "192.168.1.1:80", "example.com:80", "127.0.0.1"} {
		if CheckLoopback(a) == nil {
			t.Errorf("%s accepted", a)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	if err := DefaultOptions().Check(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Options){
		"no bound":  func(o *Options) { o.Duration, o.MaxOps = 0, 0 },
		"echo size": func(o *Options) { o.EchoSize = 4 },
		"path":      func(o *Options) { o.Path = "x" },
		"bulk":      func(o *Options) { o.BulkBytes = 0 },
		"timeout":   func(o *Options) { o.Timeout = 0 },
	} {
		o := DefaultOptions()
		mut(&o)
		if o.Check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestWarmupStraddleCredited: a bulk operation that starts in the warm-up
// and ends after it adds the measured part of its bytes, pro rata, but no
// count or latency.
func TestWarmupStraddleCredited(t *testing.T) {
	const n = 1000
	o := quick()
	o.MaxOps = 0
	o.Warmup, o.Duration = 500*time.Millisecond, time.Millisecond
	begin := time.Now()
	var calls atomic.Int32
	slow := func(context.Context) (int64, error) {
		if calls.Add(1) == 1 {
			// Ends 200 ms after the warm-up does.
			time.Sleep(time.Until(begin.Add(o.Warmup + 200*time.Millisecond)))
		}
		return n, nil
	}
	r := measure(context.Background(), "straddle", result.KindBulk, o, []op{slow})
	if r.Count != 0 || r.Bytes == 0 || r.Bytes >= n {
		t.Errorf("count %d, bytes %d: want no count and a share of the %d bytes in (0, %d)", r.Count, r.Bytes, n, n)
	}
	t.Logf("credited %d of %d bytes (%d calls)", r.Bytes, n, calls.Load())
}
