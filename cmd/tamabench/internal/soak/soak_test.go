package soak

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tamanet/cmd/internal/service"
)

// startTarget serves the service on 127.0.0.1 (HTTP, TCP and UDP echo),
// with POST /debug/gc and the /stats paths a soak samples, as the
// unikernel has them; heap is what the target reports as its live heap.
func startTarget(t *testing.T, heap *atomic.Uint64) Config {
	t.Helper()
	var svc *service.Service
	svc = service.New(service.Config{
		Name: "soaktest",
		Stats: func() any {
			return map[string]any{
				"runtime":         map[string]any{"heap_alloc_bytes": heap.Load(), "goroutines": runtime.NumGoroutine()},
				"tcp_connections": map[string]any{"established": svc.Snapshot().TCPEchoOpen, "connected": 0},
				"e1000": map[string]any{
					"rings":  map[string]any{"rx_ready": 0, "tx_in_flight": 0},
					"device": map[string]any{"resets": 0, "tx_timeouts": 0},
					"rx":     map[string]any{"drop_frame_error": 0},
					"tx":     map[string]any{"drop_no_carrier": 0},
					"hw":     map[string]any{"missed_packets": 0},
				},
				"netif": map[string]any{"tx_drop_link_down": 0},
			}
		},
	})
	ts := httptest.NewServer(svc.Handler())
	t.Cleanup(ts.Close)
	// The admin listener, on a port of its own as in the unikernel.
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/debug/gc" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]uint64{"heap_live_bytes": heap.Load()})
	}))
	t.Cleanup(admin.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	go svc.ServeTCPEcho(ln)
	go svc.ServeUDPEcho(pc)
	echo := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return Config{HTTP: ts.Listener.Addr().String(), TCP: echo, UDP: echo, Admin: admin.Listener.Addr().String()}
}

// quick shapes a short run against target.
func quick(target Config) Config {
	c := target
	c.Duration, c.Sample, c.Idle, c.BulkBytes, c.Timeout = 2*time.Second, 300*time.Millisecond, 20, 64<<10, 5*time.Second
	return c
}

// TestSoakPasses: a healthy target passes, with every kind of load
// counted and every byte checked.
func TestSoakPasses(t *testing.T) {
	var heap atomic.Uint64
	heap.Store(8 << 20)
	target := startTarget(t, &heap)
	rep, err := Run(context.Background(), quick(target), "test")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pass {
		t.Fatalf("failed: %v; failures %+v", rep.Reasons, rep.Failures)
	}
	for _, op := range []string{"get_keepalive", "get_newconn", "download", "upload", "tcp_echo", "udp_echo", "idle_echo"} {
		if c := rep.Ops[op]; c == nil || c.OK == 0 || c.BytesChecked == 0 {
			t.Errorf("%s: %+v", op, c)
		}
	}
	if rep.Idle.Opened != 20 || rep.Idle.Held != 20 || len(rep.Samples) < 3 {
		t.Errorf("idle %+v, %d samples", rep.Idle, len(rep.Samples))
	}
}

// TestSoakCatchesLeak: a heap that keeps growing fails the run.
func TestSoakCatchesLeak(t *testing.T) {
	var heap atomic.Uint64
	heap.Store(8 << 20)
	target := startTarget(t, &heap)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				heap.Add(1 << 20)
			}
		}
	}()
	rep, err := Run(context.Background(), quick(target), "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pass || rep.Heap.Pass || !strings.Contains(strings.Join(rep.Reasons, ";"), "heap grew") {
		t.Errorf("pass %v, heap %+v, reasons %v", rep.Pass, rep.Heap, rep.Reasons)
	}
}

// TestJudge: failures inside a flap's window are excused, others and
// wrong bytes fail the run; the thirds check compares maxima.
func TestJudge(t *testing.T) {
	r := &run{cfg: Config{FlapGrace: 5 * time.Second}, start: time.Now(), rep: &Report{Ops: map[string]*OpCount{}}}
	r.rep.Flaps = []Flap{{DownS: 30, UpS: 32}}
	for _, v := range []uint64{10, 12, 11, 10, 12, 11, 12, 13, 12} {
		r.rep.Samples = append(r.rep.Samples, Sample{HeapLiveBytes: v << 20, Goroutines: 40})
	}
	r.op("download").OK = 5
	r.failed = []Failure{
		{Op: "download", AtS: 25, TookS: 6, Error: "timeout"}, // ends inside the flap
		{Op: "download", AtS: 36, TookS: 0.1, Error: "reset"}, // within the grace
		{Op: "download", AtS: 50, TookS: 1, Error: "refused"}, // outside
	}
	r.cfg.Idle = 0
	r.judge()
	if r.rep.Excused != 2 || r.rep.Ops["download"].Failed != 1 || r.rep.Pass {
		t.Errorf("excused %d, ops %+v, pass %v, reasons %v", r.rep.Excused, r.rep.Ops["download"], r.rep.Pass, r.rep.Reasons)
	}
	if h := r.rep.Heap; !h.Pass || h.FirstThirdMax != 12<<20 || h.LastThirdMax != 13<<20 {
		t.Errorf("heap check %+v: 13 MiB against 12 is within 10%%", h)
	}
	if c := thirds([]uint64{10, 10, 10, 10, 10, 12}); c.Pass {
		t.Errorf("thirds %+v: 12 against 10 is 20%% growth", c)
	}
}
