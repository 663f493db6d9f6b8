package service

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"tamanet/expose"
)

// statusWriter remembers the status code a handler sent.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer (the echo
// handler needs EnableFullDuplex and Flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Service) serveCounted(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.c.httpRequests.Add(1)
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	// The mux has set r.Pattern to the route it matched ("" for none).
	route := s.c.routes[r.Pattern]
	if route == nil {
		route = s.c.routes[""]
	}
	route.requests.Add(1)
	route.latency.observe(time.Since(start))
	switch code := sw.code; {
	case code == 0 || code < 300:
		s.c.http2xx.Add(1)
	case code >= 500:
		s.c.http5xx.Add(1)
	case code >= 400:
		s.c.http4xx.Add(1)
	}
}

func (s *Service) serveRoot(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "hello from "+s.cfg.Name+"\n")
}

// statsDoc is the body of GET /stats.
type statsDoc struct {
	Name    string   `json:"name"`
	Service Snapshot `json:"service"`
	System  any      `json:"system"`
}

// serveStats renders the statistics tree (tamanet/expose) of the service's
// counters and the caller's, the same tree /metrics is built from.
func (s *Service) serveStats(w http.ResponseWriter, _ *http.Request) {
	doc := statsDoc{Name: s.cfg.Name, Service: s.Snapshot()}
	if s.cfg.Stats != nil {
		doc.System = s.cfg.Stats()
	}
	// Values the model cannot show are left out, and the error says
	// which; the rest is still worth serving.
	tree, err := expose.Build(doc)
	if err != nil {
		w.Header().Set("Stats-Error", err.Error())
	}
	body, err := json.MarshalIndent(tree, "", "  ")
	if err != nil {
		http.Error(w, "stats: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(body, '\n'))
}
