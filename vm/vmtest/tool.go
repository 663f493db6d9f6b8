//go:build linux

package vmtest

import (
	"os"
	"os/exec"
	"testing"

	"tamanet/vm"
)

// Tool returns the path of a host command a test needs (promtool, tshark,
// dnsmasq, ...). It never installs one: test packages run in parallel, and
// make test installs every tool before they start (make tools, which runs
// scripts/ensure-tool.sh). A missing tool fails the test with the command
// that installs it; a test never skips for lack of one.
func Tool(t testing.TB, command, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(command)
	if err != nil {
		t.Fatalf("%s is not installed: run make tools (or scripts/ensure-tool.sh %s %s), which make test does first", command, command, debianPackage)
	}
	return p
}

// RequireTap returns where qemu.sh can make a tap in a network namespace of
// its own (vm.TapAvailable says why it cannot). Elsewhere it skips t,
// except under CI (CI=true), where a tap-only test that cannot run is a
// failure: a CI machine is set up to run all of them.
func RequireTap(t testing.TB) {
	t.Helper()
	requireTap(t, vm.TapAvailable())
}

func requireTap(t testing.TB, why error) {
	t.Helper()
	if why == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("tap mode unavailable under CI: %v", why)
	}
	t.Skipf("tap mode unavailable here: %v", why)
}
