package expose

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// JSONHandler serves the tree of snapshot() as indented JSON (GET /stats).
// Values the model cannot show are left out and named in the Stats-Error
// header; the rest is still worth serving.
func JSONHandler(snapshot func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tree, err := Build(snapshot())
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
	})
}

// Source is one snapshot the metrics handler exposes: its metrics are named
// under Namespace and their HELP gives Path, where it sits in /stats.
type Source struct {
	Namespace, Path string
	Snapshot        func() any
}

// goRuntimeHistograms are the runtime/metrics histograms MetricsHandler
// adds to the Go collector's defaults: how long goroutines wait to run and
// how long the world stops, the runtime's share of request latency.
var goRuntimeHistograms = regexp.MustCompile(`^/sched/(latencies|pauses/total/gc):seconds$`)

// MetricsHandler serves GET /metrics: a registry with the Go runtime's
// collector and a Collector per source, through promhttp in the format the
// scraper asks for. A value that cannot be exposed fails that value only,
// not the scrape, and counts in promhttp_metric_handler_errors_total.
//
// The registry is made on the first request: the Go collector's set-up
// costs tens of milliseconds under emulation, which a unikernel would
// otherwise spend before it is ready to serve.
func MetricsHandler(sources ...Source) http.Handler {
	h := sync.OnceValue(func() http.Handler { return newMetricsHandler(sources) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h().ServeHTTP(w, r)
	})
}

func newMetricsHandler(sources []Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: goRuntimeHistograms})))
	for _, s := range sources {
		reg.MustRegister(NewCollector(s.Namespace, s.Path, s.Snapshot))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:      reg,
		ErrorHandling: promhttp.ContinueOnError,
	})
}
