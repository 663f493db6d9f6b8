//go:build tamago

package unikernel

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"time"
)

// warmUpTimeout bounds the warm-up request.
const warmUpTimeout = 5 * time.Second

// WarmUpHTTP sends one GET / to the application's own HTTP server on port
// over the stack's loopback; an application that serves HTTP calls it once
// it is Ready. It runs while QEMU's e1000 still holds received frames back
// after the RCTL write: under TCG every code path pays for its translation
// the first time it runs, and the first client would otherwise wait for the
// stack's and net/http's (measured on a loaded host: 80 ms from SYN to
// SYN-ACK, 400 ms more to the 200). The request reaches the application
// like any other. The "warm-up request served" boot phase records when it
// is done; a failure goes to the console.
//
// On a NIC that holds nothing back (virtio-net) it does nothing: there the
// first client's request arrives with READY, and a warm-up beside it only
// competes for the CPU (measured: the first 200 came 25 ms later with it,
// virtio-net on pc, TCG).
func (s *System) WarmUpHTTP(port uint16) {
	st, boot := s.Stack, s.boot
	if !boot.rxHold.Load() {
		return
	}
	addr := netip.AddrPortFrom(st.Addr().Addr(), port)
	c := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   warmUpTimeout,
	}
	resp, err := c.Get("http://" + addr.String() + "/")
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %s", resp.Status)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: warm-up request: %v\n", s.Name, err)
		return
	}
	boot.mark(phaseWarm)
}
