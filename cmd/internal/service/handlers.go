package service

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
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
	s.c.httpRequests.Add(1)
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
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
	s.c.root.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "hello from "+s.cfg.Name+"\n")
}

// statsDoc is the body of GET /stats.
type statsDoc struct {
	Name    string   `json:"name"`
	Service Snapshot `json:"service"`
	System  any      `json:"system,omitempty"`
}

func (s *Service) serveStats(w http.ResponseWriter, _ *http.Request) {
	s.c.stats.Add(1)
	doc := statsDoc{Name: s.cfg.Name, Service: s.Snapshot()}
	if s.cfg.Stats != nil {
		doc.System = s.cfg.Stats()
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		http.Error(w, "stats: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(body, '\n'))
}

func (s *Service) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	s.c.metrics.Add(1)
	ms := s.Metrics()
	if s.cfg.Metrics != nil {
		ms = append(ms, s.cfg.Metrics()...)
	}
	// Render fully before the header goes out so an invalid caller metric
	// becomes a clear 500 rather than a truncated scrape.
	var buf bytes.Buffer
	if err := WritePrometheus(&buf, ms); err != nil {
		s.c.metricsErrors.Add(1)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(buf.Bytes())
}
