//go:build !tamago

package porttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

// TestHostRootSymlinks: in Linux process mode the port shows the host's
// GOROOT read-only, and a symbolic link in that tree leads nowhere, so a
// program cannot read the file outside the tree that the link names.
func TestHostRootSymlinks(t *testing.T) {
	bin := tamagotest.Build(t, "./toolchain/porttest/hostroot")
	base := t.TempDir()
	root := filepath.Join(base, "root")
	secret := filepath.Join(base, "outside", "secret.txt")
	for _, dir := range []string{filepath.Join(root, "dir"), filepath.Dir(secret)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{filepath.Join(root, "inside.txt"): "inside", secret: "secret"}
	for name, content := range files {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"in": "inside.txt", "outfile": "../outside/secret.txt", "outdir": "../outside", "abs": secret}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin)
	cmd.Dir = root
	// Built with -trimpath, the program takes runtime.GOROOT() from here.
	cmd.Env = tamagotest.Env("GOROOT=" + root)
	r, err := tamagotest.Run(cmd, 2*time.Minute)
	t.Logf("hostroot output:\n%s", r.Output)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 || !strings.Contains(r.Output, "hostroot: 11 passed, 0 failed") {
		t.Fatalf("hostroot exit %d", r.ExitCode)
	}
}
