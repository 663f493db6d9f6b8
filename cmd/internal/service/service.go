// Package service is the HTTP and echo service that both the tamanet
// unikernel and the Linux baseline guest run, so that a benchmark compares
// network stacks and not application code.
//
// HTTP routes:
//
//	GET  /         hello text naming the system
//	GET  /stats    JSON: service counters plus the caller's stats
//	GET  /metrics  the same counters as Prometheus metrics, plus the Go runtime's
//	GET  /bytes?n=N  N bytes of a fixed pattern (see PatternByte), streamed
//	POST /echo     the request body, streamed back
//
// Echo (RFC 862) runs over any net.Listener and net.PacketConn, so the
// unikernel can hand in gVisor gonet endpoints and the baseline the host's.
//
// The package must not import tamago: it runs under plain go test.
package service

import (
	"net"
	"net/http"
	"time"
)

// Default limits, used when the corresponding Config field is zero.
const (
	// DefaultMaxBytes bounds GET /bytes?n=N.
	DefaultMaxBytes = 1 << 30
	// DefaultMaxEcho bounds the body of POST /echo.
	DefaultMaxEcho = 256 << 20
)

// Config describes what the caller injects into the service.
type Config struct {
	// Name is the system's name, used by GET / ("hello from <Name>").
	Name string
	// Stats, if set, supplies the "system" member of GET /stats and the
	// Namespace_* metrics of GET /metrics: a snapshot struct of every
	// layer's counters, rendered by tamanet/expose (which says how fields
	// become JSON keys, counters, gauges, histograms and labels).
	Stats func() any
	// Namespace prefixes the metric names of Stats (default: Name).
	Namespace string
	// Routes adds handlers under their http.ServeMux patterns, counted
	// like the service's own.
	Routes map[string]http.Handler
	// MaxBytes is the largest n accepted by GET /bytes (DefaultMaxBytes if 0).
	MaxBytes int64
	// MaxEcho is the largest body accepted by POST /echo (DefaultMaxEcho if 0).
	MaxEcho int64
}

// Service holds the configuration and the counters of one running service.
// Its methods are safe for concurrent use.
type Service struct {
	cfg Config
	c   counters
	mux *http.ServeMux
}

// New returns a Service for cfg, with zero limits replaced by the defaults.
func New(cfg Config) *Service {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxEcho <= 0 {
		cfg.MaxEcho = DefaultMaxEcho
	}
	if cfg.Namespace == "" {
		cfg.Namespace = cfg.Name
	}
	s := &Service{cfg: cfg, mux: http.NewServeMux()}
	s.c.routes = map[string]*routeStats{"": {}}
	handle := func(pattern string, h http.Handler) {
		s.mux.Handle(pattern, h)
		s.c.routes[pattern] = &routeStats{}
	}
	handle("GET /{$}", http.HandlerFunc(s.serveRoot))
	handle("GET /stats", s.statsHandler())
	handle("GET /metrics", s.metricsHandler())
	handle("GET /bytes", http.HandlerFunc(s.serveBytes))
	handle("POST /echo", http.HandlerFunc(s.serveEcho))
	for pattern, h := range cfg.Routes {
		handle(pattern, h)
	}
	return s
}

// Handler returns the HTTP handler for all routes. Every request it serves is
// counted by status class.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(s.serveCounted)
}

// HTTPServer returns an http.Server that serves Handler and counts
// connections through ConnState. The caller runs Serve on its own listener.
func (s *Service) HTTPServer() *http.Server {
	return &http.Server{
		Handler:   s.Handler(),
		ConnState: s.ConnState,
		// A client that never finishes its headers must not pin a
		// connection forever; bodies may legitimately be slow (bulk echo).
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
}

// ConnState counts HTTP connections; install it as http.Server.ConnState.
func (s *Service) ConnState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		s.c.httpConns.Add(1)
		s.c.httpConnsOpen.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.c.httpConnsOpen.Add(^uint64(0))
	}
}
