// Command stdhttp is an ordinary Go web service, written against the
// standard library only: it serves HTTP with http.ListenAndServe and, for
// its clients, fetches URLs (http.Get, TLS verified), resolves names and
// dials addresses. It builds and runs on Linux as it is; unikernel.go's
// one import makes the same program a tamanet unikernel.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", ":80", "address to serve HTTP on")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", hello)
	mux.HandleFunc("GET /time", now)
	mux.HandleFunc("GET /fetch", fetch)
	mux.HandleFunc("GET /lookup", lookup)
	mux.HandleFunc("GET /srv", srv)
	mux.HandleFunc("GET /dial", dial)
	log.Printf("serving on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

func hello(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "hello from %s, %s\n", host, r.RemoteAddr)
}

func now(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, time.Now().UTC().Format(time.RFC3339Nano))
}

// fetch GETs ?url= and reports the status and the body's SHA-256.
func fetch(w http.ResponseWriter, r *http.Request) {
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get(r.URL.Query().Get("url"))
	if err != nil {
		reply(w, http.StatusBadGateway, map[string]any{"error": err.Error()})
		return
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		reply(w, http.StatusBadGateway, map[string]any{"error": err.Error()})
		return
	}
	reply(w, http.StatusOK, map[string]any{"status": resp.StatusCode, "bytes": n, "sha256": hex.EncodeToString(h.Sum(nil))})
}

// lookup resolves ?host=.
func lookup(w http.ResponseWriter, r *http.Request) {
	addrs, err := net.LookupHost(r.URL.Query().Get("host"))
	if err != nil {
		reply(w, http.StatusBadGateway, map[string]any{"error": err.Error()})
		return
	}
	reply(w, http.StatusOK, map[string]any{"addrs": addrs})
}

// srv looks up the SRV records of ?service=, ?proto= and ?name=.
func srv(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cname, addrs, err := net.LookupSRV(q.Get("service"), q.Get("proto"), q.Get("name"))
	if err != nil {
		reply(w, http.StatusBadGateway, map[string]any{"error": err.Error()})
		return
	}
	var targets []string
	for _, a := range addrs {
		targets = append(targets, net.JoinHostPort(a.Target, fmt.Sprint(a.Port)))
	}
	reply(w, http.StatusOK, map[string]any{"cname": cname, "targets": targets})
}

// maxDialTimeout bounds /dial's wait, so no request holds its handler
// longer than the fetches do.
const maxDialTimeout = time.Minute

// dial connects to ?addr= within ?timeout= and says how it ended.
func dial(w http.ResponseWriter, r *http.Request) {
	timeout, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	if err == nil && (timeout <= 0 || timeout > maxDialTimeout) {
		err = fmt.Errorf("timeout %v: want one in (0, %v]", timeout, maxDialTimeout)
	}
	if err != nil {
		reply(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	start := time.Now()
	c, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), timeout)
	elapsed := time.Since(start)
	if err == nil {
		c.Close()
	}
	var ne net.Error
	reply(w, http.StatusOK, map[string]any{
		"connected": err == nil,
		"error":     fmt.Sprint(err),
		"refused":   errors.Is(err, syscall.ECONNREFUSED),
		"timeout":   errors.As(err, &ne) && ne.Timeout(),
		"elapsed":   elapsed.String(),
	})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
