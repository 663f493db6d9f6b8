//go:build !tamago

package toolchain

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBuildWaitsForConcurrentBuild holds the cache's build lock as a
// running build.sh would and starts another: it must wait without starting
// a make.bash of its own, and once the first build has put its toolchain in
// place and let go, print that toolchain's go command.
func TestBuildWaitsForConcurrentBuild(t *testing.T) {
	cache := t.TempDir()
	env := append(os.Environ(), "TAMANET_CACHE="+cache)

	destCmd := exec.Command("./build.sh", "--dest")
	destCmd.Env = env
	out, err := destCmd.Output()
	if err != nil {
		t.Fatalf("build.sh --dest: %v", err)
	}
	dest := strings.TrimSpace(string(out))
	if filepath.Dir(dest) != cache {
		t.Fatalf("build.sh --dest = %q, want a directory in %s", dest, cache)
	}

	lock, err := os.OpenFile(filepath.Join(cache, "toolchain.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	var stdout bytes.Buffer
	waiter := exec.Command("./build.sh")
	waiter.Env = env
	waiter.Stdout = &stdout
	stderr, err := waiter.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { waiter.Process.Kill() })
	said := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "waiting") {
				said <- sc.Text()
			}
		}
		close(said)
	}()
	select {
	case line, ok := <-said:
		if !ok {
			t.Fatalf("build.sh ended its output without waiting for the lock (stdout %q)", stdout.String())
		}
		t.Logf("build.sh: %s", line)
	case <-time.After(2 * time.Minute):
		t.Fatal("build.sh did not say it was waiting for the other build")
	}
	if builds, _ := filepath.Glob(filepath.Join(cache, ".build-*")); len(builds) > 0 {
		t.Fatalf("build.sh started a build of its own while another held the lock: %v", builds)
	}

	// The other build finishes: its go command appears, then the lock goes.
	if err := os.MkdirAll(filepath.Join(dest, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dest, "bin", "go"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- waiter.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("build.sh after the lock was released: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("build.sh still running after the other build released the lock")
	}
	if got, want := strings.TrimSpace(stdout.String()), filepath.Join(dest, "bin", "go"); got != want {
		t.Fatalf("build.sh printed %q, want the other build's %q", got, want)
	}
	if builds, _ := filepath.Glob(filepath.Join(cache, ".build-*")); len(builds) > 0 {
		t.Fatalf("build.sh built although the toolchain was there: %v", builds)
	}
}
