package service

import (
	"io"
	"net/http"
	"time"

	"tamanet/lattrace"
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
	lattrace.Record(lattrace.KindHandlerStart, lattrace.HandlerHTTP)
	s.c.httpRequests.Add(1)
	sw := &statusWriter{ResponseWriter: w}
	defer s.countPanic()
	s.mux.ServeHTTP(sw, r)
	lattrace.Record(lattrace.KindHandlerEnd, lattrace.HandlerHTTP)
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

// countPanic counts a handler's panic and lets it go on to net/http, which
// logs it with the handler's stack and closes the connection (a panic with
// http.ErrAbortHandler is a deliberate abort and not counted).
func (s *Service) countPanic() {
	if v := recover(); v != nil {
		if v != http.ErrAbortHandler {
			s.c.httpPanics.Add(1)
		}
		panic(v)
	}
}

func (s *Service) serveRoot(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "hello from "+s.cfg.Name+"\n")
}
