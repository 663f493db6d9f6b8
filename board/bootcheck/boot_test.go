//go:build !tamago

package main

import (
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

// TestBoot builds the image with a chosen exit code, boots it in QEMU and
// checks the console line and QEMU's status, (code<<1)|1 through
// isa-debug-exit.
func TestBoot(t *testing.T) {
	const code = 21
	image := tamagotest.BuildImage(t, "./board/bootcheck", "-X main.exitCode=21")
	r, accel := tamagotest.Boot(t, image, "pc", 2*time.Minute)
	t.Logf("accelerator %s, %v, output:\n%s", accel, r.Elapsed.Round(time.Millisecond), r.Output)
	if !strings.Contains(r.Output, "tamanet bootcheck: go1.27.3 tamago/amd64") {
		t.Errorf("console line missing")
	}
	if want := code<<1 | 1; r.ExitCode != want {
		t.Errorf("QEMU exit status %d, want %d", r.ExitCode, want)
	}
}
