// Command kv is a key-value store over HTTP, run as a tamanet unikernel:
//
//	PUT    /kv/KEY   stores the body (up to 1 MiB) under KEY
//	GET    /kv/KEY   returns it (404 if absent)
//	DELETE /kv/KEY   removes it
//	GET    /kv/      lists the keys, one a line
//
// plus the system's /stats, /metrics and /debug/pcap. Build and boot it
// with `make run APP=./examples/kv`; main.go is the whole unikernel part.
package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// maxValue bounds a stored value.
const maxValue = 1 << 20

// store is the key-value map behind the handlers.
type store struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func newStore() *store { return &store{m: map[string][]byte{}} }

// handler serves the store under /kv/.
func (s *store) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /kv/{$}", s.list)
	mux.HandleFunc("GET /kv/{key}", s.get)
	mux.HandleFunc("PUT /kv/{key}", s.put)
	mux.HandleFunc("DELETE /kv/{key}", s.delete)
	return mux
}

func (s *store) list(w http.ResponseWriter, _ *http.Request) {
	s.mu.RLock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	s.mu.RUnlock()
	slices.Sort(keys)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, k := range keys {
		io.WriteString(w, k+"\n")
	}
}

func (s *store) get(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	v, ok := s.m[r.PathValue("key")]
	s.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(v)
}

func (s *store) put(w http.ResponseWriter, r *http.Request) {
	v, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValue))
	if err != nil {
		code := http.StatusBadRequest
		if strings.Contains(err.Error(), "too large") {
			code = http.StatusRequestEntityTooLarge
		}
		http.Error(w, err.Error(), code)
		return
	}
	s.mu.Lock()
	s.m[r.PathValue("key")] = v
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *store) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delete(s.m, r.PathValue("key"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
