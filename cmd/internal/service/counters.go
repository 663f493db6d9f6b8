package service

import (
	"strings"
	"sync/atomic"
	"time"
)

// otherRoute labels requests that matched no route (404, 405).
const otherRoute = "other"

// routeStats counts the requests of one route.
type routeStats struct {
	requests atomic.Uint64
	latency  latencyCounters
}

// routeLabel is the label a mux pattern is counted under: its path
// ("GET /{$}" -> "/", "GET /debug/pprof/" -> "/debug/pprof/").
func routeLabel(pattern string) string {
	if pattern == "" {
		return otherRoute
	}
	_, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path = pattern
	}
	return strings.TrimSuffix(path, "{$}")
}

// counters are the service's own event counts. All fields only grow, except
// the *Open gauges.
type counters struct {
	httpRequests  atomic.Uint64 // every request the handler saw
	http2xx       atomic.Uint64
	http4xx       atomic.Uint64
	http5xx       atomic.Uint64
	httpConns     atomic.Uint64
	httpConnsOpen atomic.Uint64
	httpPanics    atomic.Uint64 // handlers that panicked (net/http logs them)
	// routes is keyed by mux pattern ("" for none), filled by New and
	// only read afterwards.
	routes map[string]*routeStats

	bytesSent atomic.Uint64
	bytesBad  atomic.Uint64 // 400: missing, malformed or out-of-range n
	echoBytes atomic.Uint64
	echoLarge atomic.Uint64 // 413: body over MaxEcho
	echoAbort atomic.Uint64 // body read or response write failed midway

	tcpConns     atomic.Uint64
	tcpConnsOpen atomic.Uint64
	tcpBytes     atomic.Uint64
	tcpErrors    atomic.Uint64
	udpPackets   atomic.Uint64
	udpBytes     atomic.Uint64
	udpErrors    atomic.Uint64
	acceptErrors atomic.Uint64
}

// Snapshot is a point-in-time copy of the service counters, as served in
// the "service" member of GET /stats and as service_* metrics (see
// tamanet/expose for how fields become metrics).
type Snapshot struct {
	HTTPRequests uint64 `json:"http_requests"`
	// HTTPResponses counts responses by status class: "2xx", "4xx", "5xx".
	HTTPResponses map[string]uint64 `json:"http_responses" metric:"label=class"`
	// HTTPRouteRequests counts requests by route: the path of the mux
	// pattern ("/", "/stats", ...), "other" for those no route matched.
	HTTPRouteRequests map[string]uint64 `json:"http_route_requests" metric:"label=route"`
	// HTTPRequestSeconds is how long the handler took, by route, until it
	// returned (for /bytes and /echo, the whole transfer).
	HTTPRequestSeconds  map[string]Latency `json:"http_request_seconds" metric:"label=route"`
	HTTPConnections     uint64             `json:"http_connections"`
	HTTPConnectionsOpen uint64             `json:"http_connections_open" metric:"gauge"`
	// HTTPPanics counts handlers that panicked: net/http logs the panic
	// and closes that connection, the server goes on.
	HTTPPanics         uint64 `json:"http_panics"`
	BytesSent          uint64 `json:"bytes_sent"`
	BytesBadRequests   uint64 `json:"bytes_bad_requests"`
	EchoBytes          uint64 `json:"echo_bytes"`
	EchoTooLarge       uint64 `json:"echo_too_large"`
	EchoAborted        uint64 `json:"echo_aborted"`
	TCPEchoConnections uint64 `json:"tcp_echo_connections"`
	TCPEchoOpen        uint64 `json:"tcp_echo_connections_open" metric:"gauge"`
	TCPEchoBytes       uint64 `json:"tcp_echo_bytes"`
	TCPEchoErrors      uint64 `json:"tcp_echo_errors"`
	UDPEchoPackets     uint64 `json:"udp_echo_packets"`
	UDPEchoBytes       uint64 `json:"udp_echo_bytes"`
	UDPEchoErrors      uint64 `json:"udp_echo_errors"`
	AcceptErrors       uint64 `json:"accept_errors"`
}

// Snapshot returns the current counter values.
func (s *Service) Snapshot() Snapshot {
	c := &s.c
	n := Snapshot{
		HTTPRequests: c.httpRequests.Load(),
		HTTPResponses: map[string]uint64{
			"2xx": c.http2xx.Load(), "4xx": c.http4xx.Load(), "5xx": c.http5xx.Load(),
		},
		HTTPRouteRequests:   make(map[string]uint64, len(c.routes)),
		HTTPRequestSeconds:  make(map[string]Latency, len(c.routes)),
		HTTPConnections:     c.httpConns.Load(),
		HTTPConnectionsOpen: c.httpConnsOpen.Load(),
		HTTPPanics:          c.httpPanics.Load(),
		BytesSent:           c.bytesSent.Load(),
		BytesBadRequests:    c.bytesBad.Load(),
		EchoBytes:           c.echoBytes.Load(),
		EchoTooLarge:        c.echoLarge.Load(),
		EchoAborted:         c.echoAbort.Load(),
		TCPEchoConnections:  c.tcpConns.Load(),
		TCPEchoOpen:         c.tcpConnsOpen.Load(),
		TCPEchoBytes:        c.tcpBytes.Load(),
		TCPEchoErrors:       c.tcpErrors.Load(),
		UDPEchoPackets:      c.udpPackets.Load(),
		UDPEchoBytes:        c.udpBytes.Load(),
		UDPEchoErrors:       c.udpErrors.Load(),
		AcceptErrors:        c.acceptErrors.Load(),
	}
	for pattern, r := range c.routes {
		label := routeLabel(pattern)
		n.HTTPRouteRequests[label] += r.requests.Load()
		n.HTTPRequestSeconds[label] = n.HTTPRequestSeconds[label].add(r.latency.snapshot())
	}
	return n
}

// latencyBounds are the request latency buckets' upper bounds: 100 µs
// doubling to 3.3 s, so one bucket spans a factor of two from a fast
// keep-alive GET under TCG to a bulk transfer.
var latencyBounds = func() [16]time.Duration {
	var b [16]time.Duration
	for i := range b {
		b[i] = 100 * time.Microsecond << i
	}
	return b
}()

// latencyCounters is a live latency histogram: a count per bucket (the last
// for values above every bound) and the sum.
type latencyCounters struct {
	buckets [len(latencyBounds) + 1]atomic.Uint64
	sumNs   atomic.Uint64
}

func (l *latencyCounters) observe(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	l.buckets[i].Add(1)
	l.sumNs.Add(uint64(max(d, 0)))
}

func (l *latencyCounters) snapshot() Latency {
	var s Latency
	for i := range l.buckets {
		s.Counts[i] = l.buckets[i].Load()
	}
	s.SumSeconds = float64(l.sumNs.Load()) / 1e9
	return s
}

// Latency is a snapshot of a request latency histogram.
type Latency struct {
	// Counts[i] counts requests that took at most latencyBounds[i] and
	// more than the bound before; the last counts the slower ones.
	Counts     [len(latencyBounds) + 1]uint64
	SumSeconds float64
}

// add returns the histogram of both l's and o's requests (routes that
// share a path, such as GET and POST /debug/pprof/symbol).
func (l Latency) add(o Latency) Latency {
	for i := range l.Counts {
		l.Counts[i] += o.Counts[i]
	}
	l.SumSeconds += o.SumSeconds
	return l
}

// StatsHistogram implements expose.Histogram, in seconds.
func (l Latency) StatsHistogram() ([]float64, []uint64, float64) {
	upper := make([]float64, len(latencyBounds))
	for i, b := range latencyBounds {
		upper[i] = b.Seconds()
	}
	return upper, l.Counts[:], l.SumSeconds
}
