//go:build !tamago

// Package porttest checks the GOOS=tamago port by running programs and
// standard library test suites built with it as Linux processes, through
// tamago's user/linux overlay.
package porttest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

func TestRuntime(t *testing.T) {
	bin := tamagotest.Build(t, "./toolchain/porttest/rtcheck")
	cmd := exec.Command(bin, "-some", "args")
	// The binary is built with -trimpath, so runtime.GOROOT() is what the
	// environment says: the tamago toolchain's, which holds the working
	// directory (go test's own GOROOT is not passed on).
	root := goroot(t)
	cmd.Dir = filepath.Join(root, "src")
	cmd.Env = tamagotest.Env("RTCHECK_ENV=present", "GOROOT="+root)
	r, err := tamagotest.Run(cmd, 5*time.Minute)
	t.Logf("rtcheck output:\n%s", r.Output)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || !strings.Contains(r.Output, "rtcheck: 17 passed, 0 failed") {
		t.Fatalf("rtcheck exit %d", r.ExitCode)
	}
}

// goroot is the GOROOT of the tamago go command, which its programs name as
// runtime.GOROOT().
func goroot(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(tamagotest.Go(t), "env", "GOROOT")
	cmd.Env = tamagotest.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
