package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"tamanet/cmd/tamabench/internal/jsonpath"
)

// Sample is one look at the target: POST /debug/gc (a forced garbage
// collection), then GET /stats.
type Sample struct {
	AtS float64 `json:"at_s"`
	// HeapLiveBytes is the heap found live by the forced collection;
	// HeapAllocBytes the heap allocated when /stats was read.
	HeapLiveBytes  uint64 `json:"heap_live_bytes"`
	HeapAllocBytes uint64 `json:"heap_alloc_bytes"`
	Goroutines     uint64 `json:"goroutines"`
	// TCPEstablished and TCPConnected are the stack's open connections.
	TCPEstablished uint64 `json:"tcp_established"`
	TCPConnected   uint64 `json:"tcp_connected"`
	// RxReady and TxInFlight are the e1000 rings' occupancy.
	RxReady    uint64 `json:"rx_ready"`
	TxInFlight uint64 `json:"tx_in_flight"`
	// Errors are the target's own error counters, by /stats path.
	Errors map[string]uint64 `json:"errors"`
}

// samplePaths are the /stats values a Sample holds, by field.
var samplePaths = []struct {
	path string
	set  func(*Sample, uint64)
}{
	{"system.runtime.heap_alloc_bytes", func(s *Sample, v uint64) { s.HeapAllocBytes = v }},
	{"system.runtime.goroutines", func(s *Sample, v uint64) { s.Goroutines = v }},
	{"system.tcp_connections.established", func(s *Sample, v uint64) { s.TCPEstablished = v }},
	{"system.tcp_connections.connected", func(s *Sample, v uint64) { s.TCPConnected = v }},
	{"system.e1000.rings.rx_ready", func(s *Sample, v uint64) { s.RxReady = v }},
	{"system.e1000.rings.tx_in_flight", func(s *Sample, v uint64) { s.TxInFlight = v }},
}

// errorPaths are the target's error counters a Sample records.
var errorPaths = []string{
	"service.accept_errors",
	"service.tcp_echo_errors",
	"service.udp_echo_errors",
	"service.echo_aborted",
	"system.e1000.device.resets",
	"system.e1000.device.tx_timeouts",
	"system.e1000.rx.drop_frame_error",
	"system.e1000.tx.drop_no_carrier",
	"system.e1000.hw.missed_packets",
	"system.netif.tx_drop_link_down",
}

// sample takes one Sample and appends it to the report.
func (r *run) sample(ctx context.Context, c *http.Client) (Sample, error) {
	s := Sample{AtS: r.since(time.Now()), Errors: map[string]uint64{}}
	var gc struct {
		HeapLiveBytes uint64 `json:"heap_live_bytes"`
	}
	if err := fetchJSON(ctx, c, http.MethodPost, "http://"+r.cfg.Admin+"/debug/gc", &gc); err != nil {
		return s, err
	}
	s.HeapLiveBytes = gc.HeapLiveBytes
	var doc map[string]any
	if err := fetchJSON(ctx, c, http.MethodGet, "http://"+r.cfg.HTTP+"/stats", &doc); err != nil {
		return s, err
	}
	for _, p := range samplePaths {
		v, ok := lookup(doc, p.path)
		if !ok {
			return s, fmt.Errorf("GET /stats has no %s", p.path)
		}
		p.set(&s, v)
	}
	for _, p := range errorPaths {
		v, ok := lookup(doc, p)
		if !ok {
			// A renamed counter must not drop out of the watch unseen.
			return s, fmt.Errorf("GET /stats has no %s", p)
		}
		s.Errors[p] = v
	}
	r.mu.Lock()
	r.rep.Samples = append(r.rep.Samples, s)
	r.mu.Unlock()
	return s, nil
}

// fetchJSON requests url and decodes the JSON answer into v.
func fetchJSON(ctx context.Context, c *http.Client, method, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// lookup finds the non-negative number at a dotted path in a decoded JSON
// document.
func lookup(doc map[string]any, path string) (uint64, bool) {
	f, ok := jsonpath.Number(doc, path)
	if !ok || f < 0 {
		return 0, false
	}
	return uint64(f), true
}
