package capture

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"tamanet/httpparam"
)

// Defaults for absent query parameters of Handler.
const (
	DefaultPackets = 1000
	DefaultSeconds = 10
	DefaultSnapLen = MaxSnapLen
)

// Handler returns the capture route for p, which serves a live capture
// over HTTP:
//
//	GET /debug/pcap?packets=N&seconds=S&snaplen=L
//
// streams a pcap of what the point sees until N packets, S seconds or the
// client going away, whichever comes first, with each packet cut to L
// bytes. The packets of the connection the capture is sent over are left
// out, so it does not capture itself. The unikernel serves it on its admin
// listener only; with make run ADMIN=8081, for example:
//
//	curl -s 'http://127.0.0.1:8081/debug/pcap?packets=100' | tshark -r -
func Handler(p *Point) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts, err := options(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc := http.NewResponseController(w)
		header := func() {
			w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
			w.Header().Set("Content-Disposition", `attachment; filename="tamanet.pcap"`)
		}
		header()
		_, err = p.Run(r.Context(), w, func() { rc.Flush() }, opts)
		if errors.Is(err, ErrBusy) {
			w.Header().Del("Content-Disposition")
			http.Error(w, err.Error(), http.StatusConflict)
		}
		// Other errors are the client going away mid-stream: nothing
		// left to tell it.
	})
}

// options reads the query and the connection the request came on.
func options(r *http.Request) (Options, error) {
	q := r.URL.Query()
	num := func(name string, def, maxVal int) (int, error) {
		s := q.Get(name)
		if s == "" {
			return def, nil
		}
		n, err := httpparam.Count(name, s, maxVal)
		if err != nil {
			return 0, fmt.Errorf("pcap: %w", err)
		}
		return n, nil
	}
	packets, err := num("packets", DefaultPackets, MaxPackets)
	if err != nil {
		return Options{}, err
	}
	seconds, err := num("seconds", DefaultSeconds, int(MaxDuration/time.Second))
	if err != nil {
		return Options{}, err
	}
	snaplen, err := num("snaplen", DefaultSnapLen, MaxSnapLen)
	if err != nil {
		return Options{}, err
	}
	o := Options{Packets: packets, Duration: time.Duration(seconds) * time.Second, SnapLen: uint32(snaplen)}
	o.ExcludeRemote, _ = netip.ParseAddrPort(r.RemoteAddr)
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		o.ExcludeLocal, _ = netip.ParseAddrPort(a.String())
	}
	o.ExcludeLocal = unmap(o.ExcludeLocal)
	o.ExcludeRemote = unmap(o.ExcludeRemote)
	return o, nil
}

// unmap turns an IPv4-mapped IPv6 address into IPv4, as packets carry it.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
