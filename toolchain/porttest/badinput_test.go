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

// TestMissingGOOSPKG: without GOOSPKG the go command must say what to set.
func TestMissingGOOSPKG(t *testing.T) {
	cmd := exec.Command(tamagotest.Go(t), "build", "-o", os.DevNull, "./toolchain/porttest/rtcheck")
	cmd.Dir = tamagotest.RepoRoot(t)
	var env []string
	for _, kv := range tamagotest.Env() {
		if !strings.HasPrefix(kv, "GOOSPKG=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	r, err := tamagotest.Run(cmd, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode == 0 || !strings.Contains(r.Output, "GOOS=tamago needs GOOSPKG") ||
		!strings.Contains(r.Output, "GOOSPKG=github.com/usbarmory/tamago") {
		t.Fatalf("exit %d, output:\n%s", r.ExitCode, r.Output)
	}
}

// TestStalePatch: a patch that no longer applies stops the build naming it,
// before any compiling.
func TestStalePatch(t *testing.T) {
	root := tamagotest.RepoRoot(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(root, "toolchain", "build.sh"), filepath.Join(dir, "build.sh"), 0o755)
	os.Mkdir(filepath.Join(dir, "patches"), 0o755)
	stale := `diff --git a/src/runtime/proc.go b/src/runtime/proc.go
--- a/src/runtime/proc.go
+++ b/src/runtime/proc.go
@@ -1,3 +1,3 @@
-// This line is not in the Go source.
+// Neither is this one.
 // Use of this source code is governed by a BSD-style
 // license that can be found in the LICENSE file.
`
	os.WriteFile(filepath.Join(dir, "patches", "0001-stale.patch"), []byte(stale), 0o644)
	cmd := exec.Command(filepath.Join(dir, "build.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TAMANET_CACHE="+filepath.Join(dir, "cache"))
	r, err := tamagotest.Run(cmd, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode == 0 || !strings.Contains(r.Output, "patch 0001-stale.patch no longer applies to the go1.27.3 source") {
		t.Fatalf("exit %d, output:\n%s", r.ExitCode, r.Output)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
