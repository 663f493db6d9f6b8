//go:build !tamago

package main

import (
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// TestBoot builds the image with a chosen exit code, boots it in QEMU and
// checks the console line and QEMU's status, (code<<1)|1 through
// isa-debug-exit.
func TestBoot(t *testing.T) {
	const code = 21
	image := tamagotest.BuildImage(t, "./board/bootcheck", "-X main.exitCode=21")
	r := vmtest.Run(t, vm.Config{Image: image, Machine: "pc"}, 2*time.Minute)
	t.Logf("accelerator %s, output:\n%s", r.Accel, r.Output)
	if !strings.Contains(r.Output, "tamanet bootcheck: go1.27.3 tamago/amd64") {
		t.Errorf("console line missing")
	}
	if want := code<<1 | 1; r.ExitCode != want {
		t.Errorf("QEMU exit status %d, want %d", r.ExitCode, want)
	}
}
