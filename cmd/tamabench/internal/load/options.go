// Package load drives the measurements of tamabench against one target:
// HTTP latency (keep-alive and new connection per request), TCP and UDP echo
// round trips, closed-loop requests per second at several concurrencies,
// bulk download and upload, and boot-to-first-response.
package load

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Options control every test of a run.
type Options struct {
	Duration  time.Duration // measured time per test (per level for RPS)
	Warmup    time.Duration // unrecorded time before each test
	MaxOps    int           // stop a test after this many measured operations (0: no limit)
	Timeout   time.Duration // per operation (bulk: per request)
	Path      string        // GET path of latency and RPS tests
	EchoSize  int           // TCP and UDP echo payload, >= 8
	BulkBytes int64         // bytes per bulk request
	Progress  *Progress     // nil: quiet
	// Samples, if set, receives the start and end of every recorded
	// operation (for the latency trace's tail analysis).
	Samples *Samples
	// CPU, if set, reads the guest's QEMU's host CPU time at the start
	// and end of every test's measured window.
	CPU *QEMUCPU
}

// Sample is one recorded operation on the host's clock.
type Sample struct {
	Start, End time.Time
}

// Samples collects the recorded operations of a test; safe for its
// workers to add to concurrently.
type Samples struct {
	mu  sync.Mutex
	all []Sample
}

// add records one operation.
func (s *Samples) add(start, end time.Time) {
	s.mu.Lock()
	s.all = append(s.all, Sample{start, end})
	s.mu.Unlock()
}

// Take returns the operations recorded so far and forgets them.
func (s *Samples) Take() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.all
	s.all = nil
	return all
}

// DefaultOptions are the command's defaults.
func DefaultOptions() Options {
	return Options{
		Duration:  5 * time.Second,
		Warmup:    time.Second,
		Timeout:   10 * time.Second,
		Path:      "/",
		EchoSize:  64,
		BulkBytes: 8 << 20,
	}
}

// Check reports options the tests cannot run with.
func (o Options) Check() error {
	switch {
	case o.Duration <= 0 && o.MaxOps <= 0:
		return fmt.Errorf("need a duration or a maximum operation count")
	case o.Warmup < 0:
		return fmt.Errorf("negative warmup")
	case o.Timeout <= 0:
		return fmt.Errorf("timeout must be positive")
	case o.EchoSize < 8 || o.EchoSize > 65507:
		return fmt.Errorf("echo size %d outside [8, 65507] (8 bytes carry a sequence number)", o.EchoSize)
	case o.BulkBytes <= 0:
		return fmt.Errorf("bulk size must be positive")
	case o.Path == "" || o.Path[0] != '/':
		return fmt.Errorf("path %q must start with /", o.Path)
	}
	return nil
}

// CheckLoopback refuses any address whose host is not a loopback IP
// literal or "localhost": the house rule is that benchmark traffic goes
// only to 127.0.0.0/8 (QEMU's hostfwd) or ::1.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("address %q is not loopback: tamabench only measures 127.0.0.0/8 or ::1 targets", addr)
}

// CheckOnTap allows a private (RFC 1918 / ULA) address only when it lies
// in the subnet of a TUN/TAP interface of this network namespace, as in
// qemu.sh's tap mode: packets to it go straight to the process holding the
// tap (QEMU) and no further. Anything else must pass CheckLoopback.
func CheckOnTap(addr string) error {
	if CheckLoopback(addr) == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsPrivate() {
		return fmt.Errorf("address %q: want loopback or a private IP literal on a tap", addr)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil || !isTap(ifc.Name) {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.Contains(ip) && !n.IP.Equal(ip) {
				return nil
			}
		}
	}
	return fmt.Errorf("address %q is neither loopback nor on a tap subnet here: run tamabench inside qemu.sh's namespace (ip netns exec)", addr)
}

// isTap reports whether interface name is a TUN/TAP device (sysfs shows
// tun_flags only for those).
func isTap(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name + "/tun_flags")
	return err == nil
}
