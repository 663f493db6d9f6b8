//go:build tamago

package unikernel

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"time"

	"tamanet/board"
	"tamanet/netif/capture"
	"tamanet/unikernel/admin"
	"tamanet/unikernel/runtimestats"
	"tamanet/unikernel/testroutes"
)

// startAdmin opens the admin listener of boot option admin=PORT, if given:
// the debug routes, for the peers adminallow= names. The application's own
// listeners never serve them (see Handler).
func (s *System) startAdmin() error {
	if s.Options.Admin == 0 {
		return nil
	}
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", s.Options.Admin))
	if err != nil {
		return fmt.Errorf("boot option admin=%d: %w", s.Options.Admin, err)
	}
	s.admin = admin.NewListener(l, s.Options.AdminAllow)
	srv := &http.Server{
		Handler:           admin.Mux(s.debugRoutes()),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	go func() {
		exit(s.Name, fmt.Errorf("admin listener stopped: %w", srv.Serve(s.admin)))
	}()
	fmt.Printf("%s: admin listener on port %d for %v: /debug/ (pprof, pcap, trace, gc, boot)\n",
		s.Name, s.Options.Admin, s.Options.AdminAllow)
	return nil
}

// debugRoutes are the admin listener's routes, by http.ServeMux pattern:
// GET /stats and /metrics (statsRoutes),
// GET /debug/pcap (capture.Handler), GET /debug/boot (the boot phases,
// with the uptime read last, for tamabench to place them on its clock), the
// latency trace's on the board's TSC (admin.TraceRoutes), the runtime's
// profiles under /debug/pprof/ (admin.PprofRoutes), POST /debug/gc (a
// garbage collection, then the runtime's statistics, for leak hunting).
func (s *System) debugRoutes() map[string]http.Handler {
	routes := map[string]http.Handler{
		"GET /debug/pcap": capture.Handler(s.Stack.CapturePoint()),
		"GET /debug/boot": http.HandlerFunc(s.boot.serveDebugBoot),
		"POST /debug/gc":  admin.ForceGC(func() any { return runtimestats.Read(s.gcPace) }),
	}
	// go tool pprof http://HOST:ADMIN/debug/pprof/profile?seconds=N: the
	// CPU profile is sampled by the runtime's timer tick.
	maps.Copy(routes, s.statsRoutes())
	maps.Copy(routes, admin.PprofRoutes())
	maps.Copy(routes, admin.TraceRoutes(admin.Clock{TSC: board.TSC, Hz: board.TSCFrequency, SinceReset: board.SinceReset}))
	return routes
}

// ServiceRoutes are the routes the system adds to an application's port,
// by http.ServeMux pattern: /debug/, which answers 404 there (the debug
// routes are the admin listener's only), and with boot option
// testroutes=on the QEMU tests' stand-ins for buggy handlers under /test/.
func (s *System) ServiceRoutes() map[string]http.Handler {
	routes := map[string]http.Handler{admin.Prefix: admin.NotHere}
	if s.Options.TestRoutes {
		maps.Copy(routes, testroutes.Routes())
	}
	return routes
}

// adminStats is the admin listener's counters, nil without admin=.
func (s *System) adminStats() *admin.Stats {
	if s.admin == nil {
		return nil
	}
	st := s.admin.Stats()
	return &st
}
