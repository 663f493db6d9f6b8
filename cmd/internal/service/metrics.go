package service

import (
	"net/http"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tamanet/expose"
)

// goRuntimeHistograms are the runtime/metrics histograms /metrics adds to
// the Go collector's defaults: how long goroutines wait to run and how long
// the world stops, the runtime's share of request latency.
var goRuntimeHistograms = regexp.MustCompile(`^/sched/(latencies|pauses/total/gc):seconds$`)

// newMetricsHandler returns the GET /metrics handler: a registry with the
// Go runtime's collector and the statistics tree of the service
// (service_*) and of the caller (<namespace>_*), served by promhttp in the
// format the scraper asks for. A value that cannot be exposed fails the
// scrape of that value only and counts in
// promhttp_metric_handler_errors_total.
func (s *Service) newMetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: goRuntimeHistograms})),
		expose.NewCollector("service", "service", func() any { return s.Snapshot() }),
	)
	if s.cfg.Stats != nil {
		reg.MustRegister(expose.NewCollector(s.cfg.Namespace, "system", s.cfg.Stats))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:      reg,
		ErrorHandling: promhttp.ContinueOnError,
	})
}
