//go:build linux

package vmtest

import (
	"slices"
	"testing"
)

func TestExpect(t *testing.T) {
	r := Result{Output: "qemu.sh: accelerator tcg\ncheck: PASS\n", ExitCode: 1}
	for _, c := range []struct {
		exit   int
		wants  []string
		errors []string
	}{
		{1, []string{"check: PASS", "accelerator tcg"}, nil},
		{1, nil, nil},
		{3, []string{"check: PASS"}, []string{"QEMU exit status 1, want 3"}},
		{1, []string{"check: FAIL", "check: PASS", "missing"}, []string{`console lacks "check: FAIL"`, `console lacks "missing"`}},
		{0, []string{"absent"}, []string{`console lacks "absent"`, "QEMU exit status 1, want 0"}},
	} {
		rec := run(t, func(tb testing.TB) { r.Expect(tb, c.exit, c.wants...) })
		if !slices.Equal(rec.errors, c.errors) || rec.fatal != "" {
			t.Errorf("Expect(%d, %q): errors %q, fatal %q; want errors %q", c.exit, c.wants, rec.errors, rec.fatal, c.errors)
		}
	}
}
