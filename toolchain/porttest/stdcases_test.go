//go:build !tamago

package porttest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"tamanet/toolchain/tamagotest"
)

// TestStdCasesPinned: every std suite pins how many of its tests pass.
func TestStdCasesPinned(t *testing.T) {
	for _, c := range stdCases {
		if c.minPass <= 0 {
			t.Errorf("%s pins no minimum pass count", c.name())
		}
	}
}

// TestREADMESuiteCount: the README states as many std suites as TestStd runs.
func TestREADMESuiteCount(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(tamagotest.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) std suites`).FindSubmatch(readme)
	if m == nil {
		t.Fatal(`README.md no longer says "N std suites"`)
	}
	if n, _ := strconv.Atoi(string(m[1])); n != len(stdCases) {
		t.Errorf("README.md says %d std suites, TestStd runs %d", n, len(stdCases))
	}
}
