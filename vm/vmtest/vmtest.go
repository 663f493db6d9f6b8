//go:build linux

// Package vmtest boots guests for tests through package vm: the guest is
// stopped when the test ends, its console is logged when the test fails,
// and every wait has a bound (a failure names what did not come).
//
// TAMANET_ACCEL and TAMANET_FIRMWARE override a Config's empty Accel and
// Firmware, so a whole test run can be repeated on another accelerator or
// firmware.
package vmtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"tamanet/vm"
)

// tapTimeout bounds how long qemu.sh takes to set up a tap guest's
// namespace, which comes before QEMU starts.
const tapTimeout = time.Minute

// Start boots cfg for the rest of t. A tap guest's namespace and tap are
// set up when it returns (Guest.Ready), so the test can start servers
// there (dnsmasq, radvd) before the guest looks for them.
func Start(t testing.TB, cfg vm.Config) *vm.Guest {
	t.Helper()
	if cfg.Accel == "" {
		cfg.Accel = os.Getenv("TAMANET_ACCEL")
	}
	if cfg.Firmware == "" {
		cfg.Firmware = os.Getenv("TAMANET_FIRMWARE")
	}
	if cfg.Network == vm.Tap {
		RequireTap(t)
	}
	g, err := vm.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Stop()
		if t.Failed() {
			t.Logf("console of %s:\n%s", cfg.Image, g.Console.Text())
		}
	})
	if cfg.Network == vm.Tap {
		ctx, cancel := context.WithTimeout(context.Background(), tapTimeout)
		defer cancel()
		if err := g.Ready(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// Await waits at most timeout for a console line containing s, from
// console index from on.
func Await(t testing.TB, g *vm.Guest, s string, from int, timeout time.Duration) vm.Line {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	l, _, err := g.Console.Await(ctx, s, from)
	if err != nil {
		t.Fatalf("%v (waited %v)", err, timeout)
	}
	return l
}

// Result is a guest that ran to its end.
type Result struct {
	Output   string        // the whole console, qemu.sh's lines included
	ExitCode int           // QEMU's exit status
	Accel    string        // the accelerator qemu.sh chose
	Elapsed  time.Duration // from qemu.sh's start to the guest's end
}

// Run boots cfg and waits at most timeout for the guest to end by itself.
func Run(t testing.TB, cfg vm.Config, timeout time.Duration) Result {
	t.Helper()
	g := Start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	code, err := g.Wait(ctx)
	if err != nil {
		t.Fatal(err) // Start's cleanup logs the console
	}
	return Result{Output: g.Console.Text(), ExitCode: code, Accel: g.Accelerator(), Elapsed: time.Since(g.Start)}
}

// Expect fails t unless the guest ended with QEMU exit status exit and
// its console holds every one of wants; it names each that is missing.
func (r Result) Expect(t testing.TB, exit int, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.Output, w) {
			t.Errorf("console lacks %q", w)
		}
	}
	if r.ExitCode != exit {
		t.Errorf("QEMU exit status %d, want %d", r.ExitCode, exit)
	}
}
