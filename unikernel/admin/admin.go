// Package admin is the unikernel's administration surface: the debug
// routes that reveal traffic (packet capture), memory and code (profiles,
// the command line) or let a request make the guest work or allocate
// (traces, forced collections). They are never served on the application's
// port. Boot option admin=PORT opens a listener of their own, which accepts
// connections only from the prefixes adminallow= names; without it they do
// not exist.
//
// The package holds the listener's access rule and the routes that need
// nothing of the unikernel's but a clock (the runtime's profiles, the
// latency trace, forced collections); the unikernel adds those that read
// its own state (packet capture, boot phases). It does not import tamago:
// all of it runs under plain go test.
package admin

import (
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
)

// Prefix is the path every debug route lives under.
const Prefix = "/debug/"

// Stats counts the admin listener's connections.
type Stats struct {
	// Accepted connections came from an allowed address.
	Accepted uint64
	// Refused connections came from elsewhere and were closed unread.
	Refused uint64
}

// Listener accepts only connections whose remote address is in one of its
// prefixes; it closes the others at once and counts them.
type Listener struct {
	net.Listener
	allow    []netip.Prefix
	accepted atomic.Uint64
	refused  atomic.Uint64
}

// NewListener restricts l to peers in allow. An empty allow list admits
// no one.
func NewListener(l net.Listener, allow []netip.Prefix) *Listener {
	return &Listener{Listener: l, allow: allow}
}

// Accept returns the next connection from an allowed peer.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.Allowed(c.RemoteAddr()) {
			l.accepted.Add(1)
			return c, nil
		}
		l.refused.Add(1)
		c.Close()
	}
}

// Allowed reports whether a peer at addr may use the admin routes.
// IPv4 peers of a dual-stack listener (IPv4-mapped IPv6) are matched as
// IPv4.
func (l *Listener) Allowed(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap().WithZone("")
	for _, p := range l.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Stats returns the connection counts so far.
func (l *Listener) Stats() Stats {
	return Stats{Accepted: l.accepted.Load(), Refused: l.refused.Load()}
}

// NotHere answers every request under Prefix on a port that is not the
// admin listener: 404, so an application port never serves debug routes
// (and never hands their paths to the application either).
var NotHere http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "404 page not found (debug routes are served only on the admin listener, boot option admin=PORT)", http.StatusNotFound)
})

// Mux serves routes (by http.ServeMux pattern) and nothing else.
func Mux(routes map[string]http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.Handle(pattern, h)
	}
	return mux
}
