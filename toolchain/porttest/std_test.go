//go:build !tamago

package porttest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

// Reasons a standard library test cannot pass as a GOOS=tamago process.
const (
	noHostFiles = "reads files from GOROOT (testdata or its own source); a tamago program sees only its in-memory file system"
	faultKills  = "provokes a nil-pointer fault: a tamago program has no SIGSEGV handler in user space, so the kernel ends the process (on bare metal the CPU exception handler turns it into a panic)"
)

// stdCase is one standard library package run under the port. fail lists the
// tests known to fail, each with its reason; the run must fail exactly
// those. skip lists the tests that would end the whole process.
type stdCase struct {
	pkg  string
	tags string
	fail map[string]string
	skip map[string]string
}

var stdCases = []stdCase{
	{pkg: "strings"},
	{pkg: "bytes"},
	{pkg: "strconv"},
	{pkg: "sort"},
	{pkg: "slices"},
	{pkg: "maps"},
	{pkg: "encoding/json"},
	{pkg: "encoding/binary"},
	{pkg: "sync", fail: map[string]string{"ExampleOnceValues": noHostFiles}},
	{pkg: "sync/atomic", skip: map[string]string{"TestNilDeref": faultKills}},
	{pkg: "time", tags: "timetzdata",
		fail: map[string]string{"TestLoadLocationFromTZData": noHostFiles, "TestLoadLocationFromTZDataSlim": noHostFiles},
		skip: map[string]string{"TestIssue5745": faultKills}},
	{pkg: "container/list"},
	{pkg: "math/big"},
	{pkg: "crypto/sha256"},
	{pkg: "compress/flate", fail: map[string]string{
		"TestWriteBlock": noHostFiles, "TestWriteBlockDynamic": noHostFiles,
		"TestWriteBlockDynamicSync": noHostFiles, "TestWriterPersistentWriteError": noHostFiles}},
	{pkg: "bufio"},
	{pkg: "unicode/utf8"},
	{pkg: "regexp", fail: map[string]string{"TestRE2Search": noHostFiles}},
}

var failLine = regexp.MustCompile(`(?m)^--- FAIL: (\S+)`)

// TestStd runs standard library test suites built for GOOS=tamago as Linux
// processes. A std test binary does not import tamago's user/linux overlay,
// so an -overlay adds a test file to the package that does.
func TestStd(t *testing.T) {
	tamago := tamagotest.Go(t)
	goenv := exec.Command(tamago, "env", "GOROOT")
	goenv.Env = tamagotest.Env()
	out, err := goenv.Output()
	if err != nil {
		t.Fatal(err)
	}
	goroot := strings.TrimSpace(string(out))
	dir := t.TempDir()
	var summary []string
	for _, c := range stdCases {
		t.Run(c.pkg, func(t *testing.T) {
			name := path.Base(c.pkg)
			src := filepath.Join(dir, name+"_userlinux_test.go")
			code := fmt.Sprintf("package %s_test\n\nimport _ \"github.com/usbarmory/tamago/user/linux\"\n", name)
			if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(goroot, "src", filepath.FromSlash(c.pkg), "zz_tamanet_userlinux_test.go")
			overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {target: src}})
			ovFile := filepath.Join(dir, name+".json")
			if err := os.WriteFile(ovFile, overlay, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"test", "-short", "-count=1", "-overlay", ovFile}
			if c.tags != "" {
				args = append(args, "-tags", c.tags)
			}
			if len(c.skip) > 0 {
				args = append(args, "-skip", "^("+strings.Join(slices.Sorted(maps.Keys(c.skip)), "|")+")$")
			}
			cmd := exec.Command(tamago, append(args, c.pkg)...)
			cmd.Dir = tamagotest.RepoRoot(t)
			cmd.Env = tamagotest.Env()
			r, err := tamagotest.Run(cmd, 10*time.Minute)
			if err != nil {
				t.Fatalf("%v\n%s", err, r.Output)
			}
			var failed []string
			for _, m := range failLine.FindAllStringSubmatch(r.Output, -1) {
				failed = append(failed, m[1])
			}
			want := slices.Sorted(maps.Keys(c.fail))
			slices.Sort(failed)
			if !slices.Equal(failed, want) {
				t.Fatalf("failing tests %v, expected %v\n%s", failed, want, r.Output)
			}
			if r.ExitCode == 0 && len(want) > 0 || r.ExitCode != 0 && len(want) == 0 {
				t.Fatalf("exit status %d with expected failures %v\n%s", r.ExitCode, want, r.Output)
			}
			if len(want) == 0 && !strings.Contains(r.Output, "ok  \t"+c.pkg) {
				t.Fatalf("no ok line for %s\n%s", c.pkg, r.Output)
			}
			summary = append(summary, fmt.Sprintf("%-16s %s", c.pkg, verdict(c)))
		})
	}
	t.Logf("standard library under GOOS=tamago (user/linux):\n%s", strings.Join(summary, "\n"))
}

func verdict(c stdCase) string {
	if len(c.fail)+len(c.skip) == 0 {
		return "pass"
	}
	var notes []string
	for _, n := range slices.Sorted(maps.Keys(c.fail)) {
		notes = append(notes, "fails "+n+": "+c.fail[n])
	}
	for _, n := range slices.Sorted(maps.Keys(c.skip)) {
		notes = append(notes, "skips "+n+": "+c.skip[n])
	}
	return "pass except " + strings.Join(notes, "; ")
}
