package service

import "sync/atomic"

// counters are the service's own event counts. All fields only grow, except
// the *Open gauges.
type counters struct {
	httpRequests  atomic.Uint64 // every request the handler saw
	http2xx       atomic.Uint64
	http4xx       atomic.Uint64
	http5xx       atomic.Uint64
	httpConns     atomic.Uint64
	httpConnsOpen atomic.Uint64

	root      atomic.Uint64
	stats     atomic.Uint64
	metrics   atomic.Uint64
	bytesReqs atomic.Uint64
	bytesSent atomic.Uint64
	bytesBad  atomic.Uint64 // 400: missing, malformed or out-of-range n
	echoReqs  atomic.Uint64
	echoBytes atomic.Uint64
	echoLarge atomic.Uint64 // 413: body over MaxEcho
	echoAbort atomic.Uint64 // body read or response write failed midway

	tcpConns      atomic.Uint64
	tcpConnsOpen  atomic.Uint64
	tcpBytes      atomic.Uint64
	tcpErrors     atomic.Uint64
	udpPackets    atomic.Uint64
	udpBytes      atomic.Uint64
	udpErrors     atomic.Uint64
	acceptErrors  atomic.Uint64
	metricsErrors atomic.Uint64 // caller metrics that could not be exposed
}

// Snapshot is a point-in-time copy of the service counters, as served in
// the "service" member of GET /stats.
type Snapshot struct {
	HTTPRequests        uint64 `json:"http_requests"`
	HTTP2xx             uint64 `json:"http_2xx"`
	HTTP4xx             uint64 `json:"http_4xx"`
	HTTP5xx             uint64 `json:"http_5xx"`
	HTTPConnections     uint64 `json:"http_connections"`
	HTTPConnectionsOpen uint64 `json:"http_connections_open"`
	RootRequests        uint64 `json:"root_requests"`
	StatsRequests       uint64 `json:"stats_requests"`
	MetricsRequests     uint64 `json:"metrics_requests"`
	BytesRequests       uint64 `json:"bytes_requests"`
	BytesSent           uint64 `json:"bytes_sent"`
	BytesBadRequests    uint64 `json:"bytes_bad_requests"`
	EchoRequests        uint64 `json:"echo_requests"`
	EchoBytes           uint64 `json:"echo_bytes"`
	EchoTooLarge        uint64 `json:"echo_too_large"`
	EchoAborted         uint64 `json:"echo_aborted"`
	TCPEchoConnections  uint64 `json:"tcp_echo_connections"`
	TCPEchoOpen         uint64 `json:"tcp_echo_connections_open"`
	TCPEchoBytes        uint64 `json:"tcp_echo_bytes"`
	TCPEchoErrors       uint64 `json:"tcp_echo_errors"`
	UDPEchoPackets      uint64 `json:"udp_echo_packets"`
	UDPEchoBytes        uint64 `json:"udp_echo_bytes"`
	UDPEchoErrors       uint64 `json:"udp_echo_errors"`
	AcceptErrors        uint64 `json:"accept_errors"`
	MetricsErrors       uint64 `json:"metrics_errors"`
}

// Snapshot returns the current counter values.
func (s *Service) Snapshot() Snapshot {
	c := &s.c
	return Snapshot{
		HTTPRequests:        c.httpRequests.Load(),
		HTTP2xx:             c.http2xx.Load(),
		HTTP4xx:             c.http4xx.Load(),
		HTTP5xx:             c.http5xx.Load(),
		HTTPConnections:     c.httpConns.Load(),
		HTTPConnectionsOpen: c.httpConnsOpen.Load(),
		RootRequests:        c.root.Load(),
		StatsRequests:       c.stats.Load(),
		MetricsRequests:     c.metrics.Load(),
		BytesRequests:       c.bytesReqs.Load(),
		BytesSent:           c.bytesSent.Load(),
		BytesBadRequests:    c.bytesBad.Load(),
		EchoRequests:        c.echoReqs.Load(),
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
		MetricsErrors:       c.metricsErrors.Load(),
	}
}

// Metrics returns the service counters as Prometheus metrics.
func (s *Service) Metrics() []Metric {
	n := s.Snapshot()
	req := func(route string, v uint64) Metric {
		return Metric{Name: "service_http_route_requests_total", Help: "HTTP requests by route.",
			Type: Counter, Labels: []Label{{"route", route}}, Value: v}
	}
	status := func(class string, v uint64) Metric {
		return Metric{Name: "service_http_responses_total", Help: "HTTP responses by status class.",
			Type: Counter, Labels: []Label{{"class", class}}, Value: v}
	}
	c := func(name, help string, v uint64) Metric {
		return Metric{Name: name, Help: help, Type: Counter, Value: v}
	}
	g := func(name, help string, v uint64) Metric {
		return Metric{Name: name, Help: help, Type: Gauge, Value: v}
	}
	return []Metric{
		c("service_http_requests_total", "HTTP requests received.", n.HTTPRequests),
		status("2xx", n.HTTP2xx), status("4xx", n.HTTP4xx), status("5xx", n.HTTP5xx),
		req("/", n.RootRequests), req("/stats", n.StatsRequests), req("/metrics", n.MetricsRequests),
		req("/bytes", n.BytesRequests), req("/echo", n.EchoRequests),
		c("service_http_connections_total", "HTTP connections accepted.", n.HTTPConnections),
		g("service_http_connections_open", "HTTP connections currently open.", n.HTTPConnectionsOpen),
		c("service_bytes_sent_total", "Body bytes sent by GET /bytes.", n.BytesSent),
		c("service_bytes_bad_requests_total", "GET /bytes rejected for a bad n.", n.BytesBadRequests),
		c("service_echo_bytes_total", "Body bytes echoed by POST /echo.", n.EchoBytes),
		c("service_echo_too_large_total", "POST /echo rejected with 413.", n.EchoTooLarge),
		c("service_echo_aborted_total", "POST /echo cut short by an I/O error.", n.EchoAborted),
		c("service_tcp_echo_connections_total", "TCP echo connections accepted.", n.TCPEchoConnections),
		g("service_tcp_echo_connections_open", "TCP echo connections currently open.", n.TCPEchoOpen),
		c("service_tcp_echo_bytes_total", "Bytes echoed over TCP.", n.TCPEchoBytes),
		c("service_tcp_echo_errors_total", "TCP echo connections ended by an error.", n.TCPEchoErrors),
		c("service_udp_echo_packets_total", "UDP datagrams echoed.", n.UDPEchoPackets),
		c("service_udp_echo_bytes_total", "Bytes echoed over UDP.", n.UDPEchoBytes),
		c("service_udp_echo_errors_total", "UDP echo read or write errors.", n.UDPEchoErrors),
		c("service_accept_errors_total", "Listener accept errors.", n.AcceptErrors),
		c("service_metrics_errors_total", "Scrapes whose caller metrics were invalid.", n.MetricsErrors),
	}
}
