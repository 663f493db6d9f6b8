//go:build !tamago

package porttest

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

// TestNames runs namecheck: the unikernel's resolver files and TLS roots
// as the unmodified standard library under the port takes them.
func TestNames(t *testing.T) {
	bin := tamagotest.Build(t, "./toolchain/porttest/namecheck")
	r, err := tamagotest.Run(exec.Command(bin), 5*time.Minute)
	t.Logf("namecheck output:\n%s", r.Output)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || !strings.Contains(r.Output, "namecheck: 0 failed") {
		t.Fatalf("namecheck exit %d", r.ExitCode)
	}
}
