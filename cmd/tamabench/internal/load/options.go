// Package load drives the measurements of tamabench against one target:
// HTTP latency (keep-alive and new connection per request), TCP and UDP echo
// round trips, closed-loop requests per second at several concurrencies,
// bulk download and upload, and boot-to-first-response.
package load

import (
	"fmt"
	"net"
	"os"
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

// CheckNamespaced allows a private (RFC 1918 / ULA) address only when this
// process runs in a network namespace other than init's, as in qemu.sh's tap
// mode: there the guest's address exists only inside the namespace, so no
// packet can reach another machine. Anything else must pass CheckLoopback.
func CheckNamespaced(addr string) error {
	if CheckLoopback(addr) == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsPrivate() {
		return fmt.Errorf("address %q: in a namespace tamabench measures only loopback or private IP literals", addr)
	}
	own, err1 := os.Readlink("/proc/self/ns/net")
	initNS, err2 := os.Readlink("/proc/1/ns/net")
	switch {
	case err1 != nil || err2 != nil:
		return fmt.Errorf("address %q: cannot tell whether this is a private network namespace (%v, %v)", addr, err1, err2)
	case own == initNS:
		return fmt.Errorf("address %q is not loopback and tamabench runs in the host's network namespace: run it inside the benchmark's namespace (ip netns exec)", addr)
	}
	return nil
}
