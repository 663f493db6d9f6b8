package tamagotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Boot runs image under QEMU through the repository's qemu.sh and returns
// the serial console output and QEMU's exit status. machine is a -M value;
// extra goes to QEMU unchanged.
func Boot(t testing.TB, image, machine string, timeout time.Duration, extra ...string) (Result, string) {
	t.Helper()
	accel := os.Getenv("TAMANET_ACCEL")
	if accel == "" {
		accel = "auto"
	}
	args := []string{"-a", accel, "-M", machine, image, "--"}
	args = append(args, extra...)
	cmd := exec.Command(filepath.Join(RepoRoot(t), "qemu.sh"), args...)
	r, err := Run(cmd, timeout)
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, r.Output)
	}
	used := "unknown"
	for _, l := range strings.Split(r.Output, "\n") {
		if a, ok := strings.CutPrefix(l, "qemu.sh: accelerator "); ok {
			used = strings.TrimSpace(a)
		}
	}
	return r, used
}
