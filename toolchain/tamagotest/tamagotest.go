// Package tamagotest finds tamanet's GOOS=tamago toolchain (building it
// once if need be) and builds programs with it for host-side tests: Linux
// processes (tamago's user/linux overlay, run with Run) and images that
// package vm boots in QEMU (BuildImage).
package tamagotest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// GOOSPKG is the module that provides runtime/goos for every build.
const GOOSPKG = "github.com/usbarmory/tamago"

// TextAddr is where images are linked: the tamago amd64 package puts RAM at
// 0x10000000 and expects the image right above it.
const TextAddr = "0x10010000"

var (
	goOnce sync.Once
	goPath string
	goErr  error
)

// RepoRoot returns the root of the tamanet checkout.
func RepoRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		t.Fatal("not inside the tamanet module")
	}
	return filepath.Dir(mod)
}

// Go returns the GOOS=tamago go command: $TAMAGO when set (make test sets
// it), else the one toolchain/build.sh builds or finds in its cache.
func Go(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TAMAGO"); p != "" {
		return p
	}
	root := RepoRoot(t)
	goOnce.Do(func() {
		cmd := exec.Command(filepath.Join(root, "toolchain", "build.sh"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			goErr = err
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		goPath = lines[len(lines)-1]
	})
	if goErr != nil {
		t.Fatalf("building the tamago toolchain: %v", goErr)
	}
	return goPath
}

// Env returns the environment for running the tamago go command. It drops
// GOROOT, which go test sets for test processes and which would point the
// tamago go command at the stock toolchain's tree, and keeps that command
// from switching toolchains.
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOROOT=") && !strings.HasPrefix(kv, "GOTOOLCHAIN=") {
			env = append(env, kv)
		}
	}
	env = append(env, "GOTOOLCHAIN=local", "GOOS=tamago", "GOARCH=amd64", "GOOSPKG="+GOOSPKG, "CGO_ENABLED=0")
	return append(env, extra...)
}

// Build compiles pkg (a path relative to the repository root or an import
// path) for GOOS=tamago into a file in a test temporary directory.
func Build(t testing.TB, pkg string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg)+".elf")
	args := append([]string{"build", "-trimpath", "-o", out}, flags...)
	args = append(args, pkg)
	cmd := exec.Command(Go(t), args...)
	cmd.Dir = RepoRoot(t)
	cmd.Env = Env()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tamago go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// BuildImage compiles pkg as a bare-metal image linked at TextAddr, with
// the board's own CPU start-up (tag linkcpuinit).
func BuildImage(t testing.TB, pkg string, ldflags string) string {
	t.Helper()
	return Build(t, pkg, "-tags", "linkcpuinit", "-ldflags", "-T "+TextAddr+" -R 0x1000 "+ldflags)
}

// Result is what a finished program left behind.
type Result struct {
	Output   string
	ExitCode int
	Elapsed  time.Duration
}

// Run executes cmd with a timeout and collects its combined output and exit
// status; only failing to start or the timeout are errors.
func Run(cmd *exec.Cmd, timeout time.Duration) (Result, error) {
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		return Result{Output: buf.String(), ExitCode: -1, Elapsed: time.Since(start)},
			errors.New("timed out after " + timeout.String())
	}
	r := Result{Output: buf.String(), Elapsed: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.ExitCode = exit.ExitCode()
	default:
		return r, err
	}
	return r, nil
}
