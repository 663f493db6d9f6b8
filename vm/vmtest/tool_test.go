//go:build linux

package vmtest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a helper ended the test
// instead of ending it.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recorder on a goroutine of its own, which Fatalf and
// Skipf end as they would a test's.
func run(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestToolMissingFailsWithoutInstalling(t *testing.T) {
	r := run(t, func(tb testing.TB) { Tool(tb, "tamanet-no-such-tool", "tamanet-no-such-package") })
	if !strings.Contains(r.fatal, "run make tools") || r.skip != "" {
		t.Fatalf("a missing tool: fatal %q, skip %q; want a failure naming make tools", r.fatal, r.skip)
	}
}

func TestToolFound(t *testing.T) {
	var p string
	r := run(t, func(tb testing.TB) { p = Tool(tb, "sh", "dash") })
	if r.fatal != "" || !strings.HasSuffix(p, "/sh") {
		t.Fatalf("Tool(sh) = %q, fatal %q", p, r.fatal)
	}
}

func TestRequireTapFailsUnderCI(t *testing.T) {
	noTap := errors.New("qemu.sh: tap mode unavailable: not root")
	t.Setenv("CI", "true")
	if r := run(t, func(tb testing.TB) { requireTap(tb, noTap) }); !strings.Contains(r.fatal, "not root") || r.skip != "" {
		t.Errorf("CI=true without tap: fatal %q, skip %q; want a failure", r.fatal, r.skip)
	}
	t.Setenv("CI", "")
	if r := run(t, func(tb testing.TB) { requireTap(tb, noTap) }); !strings.Contains(r.skip, "not root") || r.fatal != "" {
		t.Errorf("without CI, without tap: fatal %q, skip %q; want a skip", r.fatal, r.skip)
	}
	if r := run(t, func(tb testing.TB) { requireTap(tb, nil) }); r.fatal != "" || r.skip != "" {
		t.Errorf("with tap: fatal %q, skip %q", r.fatal, r.skip)
	}
}
