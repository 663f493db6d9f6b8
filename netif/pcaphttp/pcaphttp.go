// Package pcaphttp serves a live packet capture of a netif.Stack over HTTP:
//
//	GET /debug/pcap?packets=N&seconds=S&snaplen=L
//
// streams a pcap (gVisor's sniffer writes it; link type RAW, IP packets) of
// what the NIC sends and receives until N packets, S seconds or the client
// going away, whichever comes first, with each packet cut to L bytes. The
// packets of the connection the capture is sent over are left out, so it
// does not capture itself. The unikernel serves it on its admin listener
// only; with make run ADMIN=8081, for example:
//
//	curl -s 'http://127.0.0.1:8081/debug/pcap?packets=100' | tshark -r -
package pcaphttp

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"tamanet/netif"
)

// Defaults for absent query parameters.
const (
	DefaultPackets = 1000
	DefaultSeconds = 10
	DefaultSnapLen = netif.MaxSnapLen
)

// Handler returns the capture handler for st.
func Handler(st *netif.Stack) http.Handler {
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
		_, err = st.Capture(r.Context(), w, func() { rc.Flush() }, opts)
		if errors.Is(err, netif.ErrCaptureBusy) {
			w.Header().Del("Content-Disposition")
			http.Error(w, err.Error(), http.StatusConflict)
		}
		// Other errors are the client going away mid-stream: nothing
		// left to tell it.
	})
}

// options reads the query and the connection the request came on.
func options(r *http.Request) (netif.CaptureOptions, error) {
	q := r.URL.Query()
	num := func(name string, def, maxVal int) (int, error) {
		s := q.Get(name)
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxVal {
			return 0, fmt.Errorf("pcap: %s=%q: want a whole number in [1, %d]", name, s, maxVal)
		}
		return n, nil
	}
	packets, err := num("packets", DefaultPackets, netif.MaxCapturePackets)
	if err != nil {
		return netif.CaptureOptions{}, err
	}
	seconds, err := num("seconds", DefaultSeconds, int(netif.MaxCaptureDuration/time.Second))
	if err != nil {
		return netif.CaptureOptions{}, err
	}
	snaplen, err := num("snaplen", DefaultSnapLen, netif.MaxSnapLen)
	if err != nil {
		return netif.CaptureOptions{}, err
	}
	o := netif.CaptureOptions{Packets: packets, Duration: time.Duration(seconds) * time.Second, SnapLen: uint32(snaplen)}
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
