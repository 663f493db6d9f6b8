//go:build !tamago

// Package porttest checks the GOOS=tamago port by running programs and
// standard library test suites built with it as Linux processes, through
// tamago's user/linux overlay.
package porttest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

func TestRuntime(t *testing.T) {
	bin := tamagotest.Build(t, "./toolchain/porttest/rtcheck")
	cmd := exec.Command(bin, "-some", "args")
	cmd.Env = append(os.Environ(), "RTCHECK_ENV=present")
	r, err := tamagotest.Run(cmd, 5*time.Minute)
	t.Logf("rtcheck output:\n%s", r.Output)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || !strings.Contains(r.Output, "rtcheck: 14 passed, 0 failed") {
		t.Fatalf("rtcheck exit %d", r.ExitCode)
	}
}
