package admin

import (
	"encoding/json"
	"net/http"
	"runtime"
)

// ForceGC is POST /debug/gc: it runs a garbage collection and answers with
// snapshot() taken right after it, as JSON (a unikernel's runtime
// statistics, as in GET /stats), so the live heap it reports is the heap
// in use.
func ForceGC(snapshot func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(snapshot())
	})
}
