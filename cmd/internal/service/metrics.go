package service

import (
	"net/http"

	"tamanet/expose"
)

// statsDoc is the body of GET /stats.
type statsDoc struct {
	Name    string   `json:"name"`
	Service Snapshot `json:"service"`
	System  any      `json:"system"`
}

// statsHandler serves GET /stats: the statistics tree (tamanet/expose) of
// the service's counters and the caller's, the tree /metrics is built from.
func (s *Service) statsHandler() http.Handler {
	return expose.JSONHandler(func() any {
		doc := statsDoc{Name: s.cfg.Name, Service: s.Snapshot()}
		if s.cfg.Stats != nil {
			doc.System = s.cfg.Stats()
		}
		return doc
	})
}

// metricsHandler serves GET /metrics: the Go runtime's metrics and the
// statistics of the service (service_*) and of the caller (<namespace>_*).
func (s *Service) metricsHandler() http.Handler {
	sources := []expose.Source{{Namespace: "service", Path: "service", Snapshot: func() any { return s.Snapshot() }}}
	if s.cfg.Stats != nil {
		sources = append(sources, expose.Source{Namespace: s.cfg.Namespace, Path: "system", Snapshot: s.cfg.Stats})
	}
	return expose.MetricsHandler(sources...)
}
