package admin

import (
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"tamanet/httpparam"
)

// MaxProfileSeconds bounds ?seconds= of the CPU profile and the execution
// trace: a longer one would hold a connection and the profiler for as long.
const MaxProfileSeconds = 60

// maxSymbolRequest bounds the body of POST /debug/pprof/symbol: go tool
// pprof sends the program counters of a profile's unnamed locations,
// about 12 bytes each.
const maxSymbolRequest = 1 << 20

// PprofRoutes are the runtime's profiles (packages runtime/pprof and
// runtime/trace) under /debug/pprof/, by http.ServeMux pattern, in the
// protocol of net/http/pprof, so that go tool pprof and go tool trace read
// them from the admin listener:
//
//	GET /debug/pprof/                       the index of the profiles
//	GET /debug/pprof/NAME?debug=N           a profile (goroutine, heap, ...):
//	                                        protobuf, or text for debug=1, 2;
//	                                        heap?gc=1 collects garbage first
//	GET /debug/pprof/profile?seconds=N      a CPU profile of N s (30)
//	GET /debug/pprof/trace?seconds=N        an execution trace of N s (1)
//	GET /debug/pprof/cmdline                os.Args, NUL-separated
//	GET, POST /debug/pprof/symbol           the functions at program counters
//
// with ?seconds= at most MaxProfileSeconds. They are written here rather
// than imported: net/http/pprof registers its handlers on
// http.DefaultServeMux as it initializes, which would put them on every
// application port that serves that mux.
func PprofRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /debug/pprof/{$}":     http.HandlerFunc(serveProfileIndex),
		"GET /debug/pprof/{name}":  http.HandlerFunc(serveProfile),
		"GET /debug/pprof/profile": recording("profile", 30, pprof.StartCPUProfile, pprof.StopCPUProfile),
		"GET /debug/pprof/trace":   recording("trace", 1, trace.Start, trace.Stop),
		"GET /debug/pprof/cmdline": http.HandlerFunc(serveCmdline),
		"GET /debug/pprof/symbol":  http.HandlerFunc(serveSymbol),
		"POST /debug/pprof/symbol": http.HandlerFunc(serveSymbol),
	}
}

// otherRoutes are the index's entries besides pprof.Profiles.
var otherRoutes = []struct{ name, about string }{
	{"profile", "CPU profile: ?seconds=N"},
	{"trace", "execution trace, for go tool trace: ?seconds=N"},
	{"cmdline", "the command line"},
	{"symbol", "function names of program counters, '+'-separated, in the query or a POST body"},
}

func serveProfileIndex(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	b.WriteString("<html><head><title>/debug/pprof/</title></head><body>\n" +
		"<p>/debug/pprof/: profiles in protobuf for go tool pprof, as text with ?debug=1 " +
		"(goroutine?debug=2: every stack, as a crash prints them)</p>\n<table>\n")
	link := func(count, href, name, about string) {
		fmt.Fprintf(&b, "<tr><td>%s</td><td><a href=\"%s\">%s</a></td><td>%s</td></tr>\n",
			count, html.EscapeString(href), html.EscapeString(name), html.EscapeString(about))
	}
	for _, p := range pprof.Profiles() {
		link(strconv.Itoa(p.Count()), url.PathEscape(p.Name())+"?debug=1", p.Name(), "")
	}
	for _, r := range otherRoutes {
		link("", r.name, r.name, r.about)
	}
	b.WriteString("</table></body></html>\n")
	declare(w, "text/html; charset=utf-8", "")
	io.WriteString(w, b.String())
}

// serveProfile writes the runtime/pprof profile the path names. The delta
// profiles net/http/pprof computes for ?seconds= take a profile decoder it
// imports from the runtime's internals: refused here.
func serveProfile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	p := pprof.Lookup(name)
	if p == nil {
		pprofError(w, http.StatusNotFound, fmt.Sprintf("no profile %q: /debug/pprof/ lists them", name))
		return
	}
	q := r.URL.Query()
	if q.Has("seconds") {
		pprofError(w, http.StatusBadRequest, "seconds=: delta profiles are not served; take two and compare them with go tool pprof -diff_base")
		return
	}
	debug, err := httpparam.Level("debug", q.Get("debug"), 2)
	gc := 0
	if err == nil {
		gc, err = httpparam.Level("gc", q.Get("gc"), 1)
	}
	if err != nil {
		pprofError(w, http.StatusBadRequest, err.Error())
		return
	}
	if gc == 1 && name == "heap" {
		runtime.GC()
	}
	if debug == 0 {
		declare(w, "application/octet-stream", name)
	} else {
		declare(w, "text/plain; charset=utf-8", "")
	}
	p.WriteTo(w, debug)
}

// recording serves a recording the runtime streams to the response from
// start until stop (the CPU profile, the execution trace): it lasts
// ?seconds= (def when absent), or until the client goes away.
func recording(name string, def int, start func(io.Writer) error, stop func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seconds := def
		if v := r.URL.Query().Get("seconds"); v != "" {
			var err error
			if seconds, err = httpparam.Count("seconds", v, MaxProfileSeconds); err != nil {
				pprofError(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		// The runtime may write as soon as it starts: the header first.
		declare(w, "application/octet-stream", name)
		if err := start(w); err != nil {
			pprofError(w, http.StatusConflict, fmt.Sprintf("%s: %v", name, err))
			return
		}
		defer stop()
		t := time.NewTimer(time.Duration(seconds) * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	})
}

func serveCmdline(w http.ResponseWriter, _ *http.Request) {
	declare(w, "text/plain; charset=utf-8", "")
	io.WriteString(w, strings.Join(os.Args, "\x00"))
}

// serveSymbol names the functions at the program counters of the query
// (GET) or the body (POST), '+'-separated, one "0xPC NAME" line each after
// a num_symbols line that tells the client symbols are available.
func serveSymbol(w http.ResponseWriter, r *http.Request) {
	pcs := r.URL.RawQuery
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSymbolRequest))
		if err != nil {
			code := http.StatusBadRequest
			if errors.As(err, new(*http.MaxBytesError)) {
				code = http.StatusRequestEntityTooLarge
			}
			pprofError(w, code, "symbol: reading the request: "+err.Error())
			return
		}
		pcs = string(body)
	}
	var b strings.Builder
	b.WriteString("num_symbols: 1\n")
	for _, word := range strings.Split(pcs, "+") {
		if word == "" {
			continue
		}
		pc, err := strconv.ParseUint(word, 0, 64)
		if err != nil {
			pprofError(w, http.StatusBadRequest, fmt.Sprintf("symbol: %q is not a program counter", word))
			return
		}
		if f := runtime.FuncForPC(uintptr(pc)); f != nil {
			fmt.Fprintf(&b, "%#x %s\n", pc, f.Name())
		}
	}
	declare(w, "text/plain; charset=utf-8", "")
	io.WriteString(w, b.String())
}

// declare sets a response's type and, for a file to save (filename not
// empty), its name.
func declare(w http.ResponseWriter, contentType, filename string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if filename == "" {
		h.Del("Content-Disposition")
	} else {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
}

// pprofError answers with status and msg as text, marked with X-Go-Pprof
// so that go tool pprof prints msg rather than only the status.
func pprofError(w http.ResponseWriter, status int, msg string) {
	declare(w, "text/plain; charset=utf-8", "")
	w.Header().Set("X-Go-Pprof", "1")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
