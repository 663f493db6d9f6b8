// Package testroutes is what boot option testroutes=on adds to a
// unikernel's application port, for the QEMU tests of faults and
// preemption (cmd/tamanet): stand-ins for application handlers, one with a
// bug, which must cost one request, and one that computes, which must not
// stall every other connection.
package testroutes

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maxSpin bounds GET /test/spin?ms=N.
const maxSpin = 60 * time.Second

// Routes are the test routes, by http.ServeMux pattern.
func Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /test/nilderef": http.HandlerFunc(serveNilDeref),
		"GET /test/spin":     http.HandlerFunc(serveSpin),
	}
}

type point struct{ x, y int }

// nowhere is the nil pointer serveNilDeref follows.
var nowhere *point

// serveNilDeref dereferences nil, as a buggy handler would: the page fault
// becomes a panic in this goroutine, which net/http recovers.
func serveNilDeref(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, nowhere.y)
}

// serveSpin computes for ms milliseconds without blocking or calling
// functions in its inner loop, so that only asynchronous preemption lets
// other goroutines run meanwhile.
func serveSpin(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	d := time.Duration(ms) * time.Millisecond
	if err != nil || d < 0 || d > maxSpin {
		http.Error(w, fmt.Sprintf("want ms in [0, %d]", maxSpin.Milliseconds()), http.StatusBadRequest)
		return
	}
	// The console line tells a test the computation has begun.
	fmt.Printf("tamanet: /test/spin computing for %v\n", d)
	start := time.Now()
	rounds, x := 0, uint64(1)
	for time.Since(start) < d {
		for i := 0; i < 1<<16; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		rounds++
	}
	fmt.Fprintf(w, "spun %v, %d rounds (%x)\n", time.Since(start).Round(time.Millisecond), rounds, x>>60)
}
