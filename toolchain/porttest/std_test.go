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
// The suites read GOROOT (testdata, their own source, lib/time's zone
// database) through the port's read-only view of the host's GOROOT in
// Linux process mode; no test fails for that any more.
const (
	noBigHeap   = "allocates more than tamago's user/linux overlay maps (512 MiB for code, heap and stacks): the process runs out of memory"
	noLocalhost = "listens on localhost: the name goes to DNS, since the in-memory file system has no /etc/hosts, and the fake network has no resolver"

	noDoubleCloseError = "expects a second Close of a connection to fail; the fake network GOOS=tamago shares with js/wasm returns nil (the test skips itself on js and wasip1 for this)"
	noSysmon           = "waits for sysmon's forced periodic GC (ForceGCPeriod); the port has no sysmon thread, its tick only preempts and samples (the test skips itself on wasm, which has none either)"
	noIdleTime         = "expects time.Sleep to show as idle CPU in runtime/metrics; in Linux process mode tamago's user/linux sets no goos.Idle, so the scheduler busy-waits and counts no idle time (the test skips itself on wasip1, which busy-waits too)"
	noLockedM          = "LockOSThread gives a goroutine no M of its own: the port has one M and, as on wasm, dolockOSThread does nothing, so m.lockedExt counts while g.lockedm stays nil, and LockOSCounts panics \"nil lockedm on locked goroutine\" in the test's goroutine, which the test does not wait for: the binary dies whenever it runs before the suite ends (the test skips itself on wasm)"
	noSplitInSyscall   = "calls nanotime between entersyscall and exitsyscall (fakeSyscall); the port's nanotime calls goos.Nanotime, which tamago's user/linux implements as an ordinary Go function with a stack check, so when the goroutine's stack happens to be nearly full it grows in syscall state and the runtime throws \"stack split at bad time\", killing the binary"
	noWaitingStatus    = "waits for its profile reader to show as [syscall] in a goroutine dump (every GOOS but js and wasip1); the port's notetsleepg parks the reader, which shows [waiting] as on js, so the test loops forever"
	noThreads          = "needs GOMAXPROCS readers running at once: each holds the runtime's rwmutex read lock, which keeps its M (not preemptible) while spinning until the test sets a flag; with the port's one M the first reader spins forever (the test skips itself on wasm: no threads)"
	noTiBHeapAddrs     = "its 64-bit cases grow page allocators 4 TiB up (BaseChunkIdx+0x100000 chunks); tamago amd64 heap addresses have 40 bits (goos.HeapAddrBits), so the summary slices overflow and the runtime throws \"slice bounds out of range\", killing the binary"
)

// stdCase is one standard library package run under the port. fail lists the
// tests known to fail, each with its reason; the run must fail exactly
// those. skip lists tests left out, each with its reason.
type stdCase struct {
	pkg  string
	tags string
	fail map[string]string
	skip map[string]string
}

var stdCases = []stdCase{
	{pkg: "context", fail: map[string]string{"ExampleAfterFunc_connection": noLocalhost}},
	{pkg: "strings"},
	{pkg: "bytes"},
	{pkg: "strconv"},
	{pkg: "sort"},
	{pkg: "slices"},
	{pkg: "maps"},
	{pkg: "encoding/json"},
	{pkg: "encoding/binary"},
	{pkg: "sync"},
	{pkg: "sync/atomic"},
	{pkg: "time"}, // zones from GOROOT's lib/time/zoneinfo.zip, no timetzdata
	{pkg: "reflect"},
	{pkg: "encoding/gob", skip: map[string]string{"TestLargeSlice": noBigHeap}},
	{pkg: "text/template"},
	{pkg: "html/template"},
	{pkg: "archive/tar"},
	{pkg: "image/png"},
	{pkg: "container/list"},
	{pkg: "math/big"},
	{pkg: "crypto/sha256"},
	{pkg: "compress/flate"},
	{pkg: "bufio"},
	{pkg: "unicode/utf8"},
	{pkg: "regexp"},
	{pkg: "runtime",
		fail: map[string]string{"TestPeriodicGC": noSysmon, "TestCPUMetricsSleep": noIdleTime, "TestCPUStats": noIdleTime},
		skip: map[string]string{"TestPageAllocGrow": noTiBHeapAddrs, "TestPageAllocAlloc": noTiBHeapAddrs, "TestPageAllocAllocToCache": noTiBHeapAddrs,
			"TestLockOSThreadNesting": noLockedM, "TestPreemptionAfterSyscall": noSplitInSyscall,
			"TestProfBufWakeup": noWaitingStatus, "TestParallelRWMutexReaders": noThreads}},
	{pkg: "net/http"},
	{pkg: "crypto/tls", fail: map[string]string{
		"TestClientHandshakeContextCancellation": noDoubleCloseError,
		"TestServerHandshakeContextCancellation": noDoubleCloseError}},
	{pkg: "crypto/x509"},
}

// TestStd runs standard library test suites built for GOOS=tamago as Linux
// processes, with go test -json. A std test binary does not import tamago's
// user/linux overlay, so an -overlay adds a test file to the package that
// does. A suite passes when exactly the listed tests fail, every test that
// started also ended, and the binary reached its summary line (so a crash
// after the expected failures is a failure). Tests that internal/testenv
// skips (no exec, no go build, no network, ...) are counted and listed.
func TestStd(t *testing.T) {
	tamago := tamagotest.Go(t)
	root := goroot(t)
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
			target := filepath.Join(root, "src", filepath.FromSlash(c.pkg), "zz_tamanet_userlinux_test.go")
			overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {target: src}})
			ovFile := filepath.Join(dir, strings.ReplaceAll(c.pkg, "/", "_")+".json")
			if err := os.WriteFile(ovFile, overlay, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"test", "-json", "-short", "-count=1", "-overlay", ovFile}
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
			run, err := parseTestJSON(r.Output)
			if err != nil {
				t.Fatalf("go test -json: %v\n%s", err, r.Output)
			}
			var problems []string
			if unended := run.unended(); len(unended) > 0 {
				problems = append(problems, fmt.Sprintf("tests started but never ended (the binary died): %v", unended))
			}
			if !run.summary {
				problems = append(problems, "no PASS/FAIL summary line: the test binary did not finish")
			}
			failed := run.failedTop()
			if want := slices.Sorted(maps.Keys(c.fail)); !slices.Equal(failed, want) {
				problems = append(problems, fmt.Sprintf("failing tests %v, expected %v", failed, want))
			}
			if (run.action == "fail") != (len(c.fail) > 0) || run.action == "" {
				problems = append(problems, fmt.Sprintf("package result %q with expected failures %v", run.action, slices.Sorted(maps.Keys(c.fail))))
			}
			if len(problems) > 0 {
				t.Fatalf("%s\n%s", strings.Join(problems, "\n"), run.output)
			}
			line := fmt.Sprintf("%-16s %s; %d passed, %d skipped", c.pkg, verdict(c), run.count("pass"), run.count("skip"))
			if te := run.testenvSkips(); len(te) > 0 {
				line += fmt.Sprintf(", %d of them by internal/testenv:\n    %s", len(te), strings.Join(te, "\n    "))
			}
			summary = append(summary, line)
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

// testEvent is one line of go test -json (cmd/test2json).
type testEvent struct {
	Action string
	Test   string
	Output string
}

// testRun is one package's go test -json stream.
type testRun struct {
	action  string            // the package's final pass or fail
	started map[string]bool   // tests with a run event
	ended   map[string]string // test -> pass, fail or skip
	outputs map[string]string // test -> its output
	summary bool              // the binary printed its PASS or FAIL line
	output  string            // everything, as text, for failure reports
}

func parseTestJSON(out string) (*testRun, error) {
	r := &testRun{started: map[string]bool{}, ended: map[string]string{}, outputs: map[string]string{}}
	var text strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			text.WriteString(line + "\n") // the go command's own messages
			continue
		}
		var e testEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("%v: %s", err, line)
		}
		switch e.Action {
		case "run":
			r.started[e.Test] = true
		case "pass", "fail", "skip":
			if e.Test == "" {
				r.action = e.Action
			} else {
				r.ended[e.Test] = e.Action
			}
		case "output":
			text.WriteString(e.Output)
			if e.Test != "" {
				r.outputs[e.Test] += e.Output
			} else if o := strings.TrimSpace(e.Output); o == "PASS" || o == "FAIL" {
				r.summary = true
			}
		}
	}
	r.output = text.String()
	return r, nil
}

func (r *testRun) unended() []string {
	var names []string
	for name := range r.started {
		if r.ended[name] == "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// failedTop lists the failed top-level tests (a failed subtest fails its
// parent too).
func (r *testRun) failedTop() []string {
	var names []string
	for name, a := range r.ended {
		if a == "fail" && !strings.Contains(name, "/") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func (r *testRun) count(action string) int {
	n := 0
	for _, a := range r.ended {
		if a == action {
			n++
		}
	}
	return n
}

// testenvSkip matches the messages of internal/testenv's skips (its
// MustHave*, SkipFlaky* and SkipIf* helpers).
var testenvSkip = regexp.MustCompile(`skipping test: .*|skipping known flaky test.*|skipping test in -short mode on .*|skipping test with optimization disabled|skipping test on builder known to have frequent network failures`)

// testenvSkips lists the skipped tests whose skip message is
// internal/testenv's, with the message.
func (r *testRun) testenvSkips() []string {
	var list []string
	for name, a := range r.ended {
		if a != "skip" {
			continue
		}
		if m := testenvSkip.FindString(r.outputs[name]); m != "" {
			list = append(list, name+": "+strings.TrimSpace(m))
		}
	}
	slices.Sort(list)
	return list
}
