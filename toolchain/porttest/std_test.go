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
	noDoubleCloseError = "expects a second Close of a connection to fail; the fake network GOOS=tamago shares with js/wasm returns nil (the test skips itself on js and wasip1 for this)"
	noSysmon           = "waits for sysmon's forced periodic GC (ForceGCPeriod); the port has no sysmon thread, its tick only preempts and samples (the test skips itself on wasm, which has none either)"
	noIdleTime         = "expects time.Sleep to show as idle CPU in runtime/metrics; in Linux process mode tamago's user/linux sets no goos.Idle, so the scheduler busy-waits and counts no idle time (the test skips itself on wasip1, which busy-waits too)"
	noLockedM          = "LockOSThread gives a goroutine no M of its own: the port has one M and, as on wasm, dolockOSThread does nothing, so m.lockedExt counts while g.lockedm stays nil, and LockOSCounts panics \"nil lockedm on locked goroutine\" in the test's goroutine, which the test does not wait for: the binary dies whenever it runs before the suite ends (the test skips itself on wasm)"
	noWaitingStatus    = "waits for its profile reader to show as [syscall] in a goroutine dump (every GOOS but js and wasip1); the port's notetsleepg parks the reader, which shows [waiting] as on js, so the test loops forever"
	noThreads          = "needs GOMAXPROCS readers running at once: each holds the runtime's rwmutex read lock, which keeps its M (not preemptible) while spinning until the test sets a flag; with the port's one M the first reader spins forever (the test skips itself on wasm: no threads)"
	noSyscallHandoff   = "needs the scheduler to run other goroutines while one is in a system call: Linux's sysmon hands the P to another thread, the port has one M, and its tick cannot preempt a goroutine in syscall state, so the eight goroutines that spend nearly all their time in fakeSyscall hold the CPU until a tick happens to land between two calls: minutes instead of the test's 5 s bound (the test skips itself on wasm, which has no preemption)"
	noTiBHeapAddrs     = "its 64-bit cases grow page allocators 4 TiB up (BaseChunkIdx+0x100000 chunks); tamago amd64 heap addresses have 40 bits (goos.HeapAddrBits), so the summary slices overflow and the runtime throws \"slice bounds out of range\", killing the binary"

	// package net: its sockets are the fake network's (js/wasm's, in
	// process) or, with loopnet imported, stdnet's on a gVisor stack.
	noSocketControl = "Dialer.Control and ListenConfig.Control get the socket's file descriptor; neither a fake nor a stack socket has one, so the port fails the call with ENOTSUP (the test skips itself on js and wasip1)"
	noSocketFile    = "File dups the socket's file descriptor, which neither a fake nor a stack socket has (\"dup: not implemented\" or ENOTSUP; the test skips itself on js and wasip1, where condFatalf only logs)"
	noRawConn       = "SyscallConn's Control, Read and Write run on the socket's file descriptor, which neither a fake nor a stack socket has (\"not supported\"; the test skips itself on js and wasip1)"
	noPipe          = "needs os.Pipe, which the port, like js and wasip1 (where the test skips itself), does not have"
	noUnixFile      = "expects a Unix socket's file on disk after Listen; the fake network's Unix sockets live in memory (the test skips itself on js and wasip1)"
	noRawSocket     = "makes an unnamed unixgram socket with syscall.Socket, which the port has not (the test skips itself on js and wasip1)"
	fakeAllocs      = "counts the allocations of UDP reads and writes; the fake network allocates for each datagram (the test skips itself on js and wasip1)"
	fakeWildcard    = "the fake network reports a listener on [::] as 0.0.0.0 (the test skips itself on js and wasip1); on the gVisor stack it passes"
	gvisorAllocs    = "counts the allocations of reads and writes, none on Linux; gVisor allocates for every packet (PacketBufferList entries of its loopback link, packet buffers, routes: 2 per 128-byte TCP write and read, 9 per UDP datagram)"
	noRawIP         = "opens raw IP sockets (ip4:icmp, ip:tcp); net.Stack carries TCP and UDP only, so with a stack installed the port answers EPROTONOSUPPORT, which the test does not count as unsupported (on Linux it needs root, else skips on EPERM)"
)

// netFails are the tests of package net that fail on either network.
var netFails = map[string]string{
	"TestDialerControl": noSocketControl, "TestDialerControlContext": noSocketControl, "TestDialContext": noSocketControl,
	"TestFileConn": noSocketFile, "TestFileListener": noSocketFile, "TestFilePacketConn": noSocketFile,
	"TestTCPListenerSpecificMethods": noSocketFile, "TestUDPConnSpecificMethods": noSocketFile,
	"TestUnixListenerSpecificMethods": noSocketFile, "TestUnixConnSpecificMethods": noSocketFile,
	"TestRawConnReadWrite": noRawConn, "TestRawConnControl": noRawConn,
	"TestSendfilePipe": noPipe, "TestCopyPipeIntoTCP": noPipe,
	"TestUnixUnlink": noUnixFile, "TestReadUnixgramWithUnnamedSocket": noRawSocket,
}

// with is m plus more.
func with(m map[string]string, more map[string]string) map[string]string {
	out := maps.Clone(m)
	maps.Copy(out, more)
	return out
}

// stdCase is one standard library package run under the port. fail lists the
// tests known to fail, each with its reason; the run must fail exactly
// those. skip lists tests left out, each with its reason. minPass is the
// fewest passed tests (subtests count) the run may report, pinned at about
// 90% of a real run's count (the comment has it), so that a flood of skips
// fails the suite instead of passing it. imports are packages the overlay
// file also imports, for what their init sets up (a network stack); a
// package run more than once names each run with variant.
type stdCase struct {
	pkg     string
	variant string
	imports []string
	tags    string
	minPass int
	fail    map[string]string
	skip    map[string]string
}

// name is c's subtest name: its package, and its variant if any.
func (c stdCase) name() string {
	if c.variant == "" {
		return c.pkg
	}
	return c.pkg + "@" + c.variant
}

// overlay is the test file the overlay adds to c's package: it imports
// tamago's user/linux, which runs the binary as a Linux process, and
// c.imports.
func (c stdCase) overlay() string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s_test\n\nimport (\n", path.Base(c.pkg))
	for _, imp := range append([]string{"github.com/usbarmory/tamago/user/linux"}, c.imports...) {
		fmt.Fprintf(&b, "\t_ %q\n", imp)
	}
	b.WriteString(")\n")
	return b.String()
}

var stdCases = []stdCase{
	{pkg: "context", minPass: 62},          // 69 passed
	{pkg: "strings", minPass: 135},         // 151 passed
	{pkg: "bytes", minPass: 160},           // 178 passed
	{pkg: "strconv", minPass: 72},          // 80 passed
	{pkg: "sort", minPass: 72},             // 81 passed
	{pkg: "slices", minPass: 148},          // 165 passed
	{pkg: "maps", minPass: 21},             // 24 passed
	{pkg: "encoding/json", minPass: 575},   // 639 passed
	{pkg: "encoding/binary", minPass: 140}, // 156 passed
	{pkg: "sync", minPass: 53},             // 59 passed
	{pkg: "sync/atomic", minPass: 92},      // 103 passed
	{pkg: "time", minPass: 364},            // 405 passed; zones from GOROOT's lib/time/zoneinfo.zip, no timetzdata
	{pkg: "reflect", minPass: 428},         // 476 passed
	{pkg: "encoding/gob", minPass: 94},     // 105 passed
	{pkg: "text/template", minPass: 53},    // 59 passed
	{pkg: "html/template", minPass: 243},   // 271 passed
	{pkg: "archive/tar", minPass: 90},      // 100 passed
	{pkg: "image/png", minPass: 24},        // 27 passed
	{pkg: "container/list", minPass: 9},    // 11 passed
	{pkg: "math/big", minPass: 240},        // 267 passed
	{pkg: "crypto/sha256", minPass: 76},    // 85 passed
	{pkg: "compress/flate", minPass: 115},  // 128 passed
	{pkg: "bufio", minPass: 80},            // 89 passed
	{pkg: "unicode/utf8", minPass: 27},     // 31 passed
	{pkg: "regexp", minPass: 67},           // 75 passed
	{pkg: "runtime", minPass: 811, // 902 passed
		fail: map[string]string{"TestPeriodicGC": noSysmon, "TestCPUMetricsSleep": noIdleTime, "TestCPUStats": noIdleTime},
		skip: map[string]string{"TestPageAllocGrow": noTiBHeapAddrs, "TestPageAllocAlloc": noTiBHeapAddrs, "TestPageAllocAllocToCache": noTiBHeapAddrs,
			"TestLockOSThreadNesting": noLockedM, "TestPreemptionAfterSyscall": noSyscallHandoff,
			"TestProfBufWakeup": noWaitingStatus, "TestParallelRWMutexReaders": noThreads}},
	{pkg: "net", minPass: 280, fail: with(netFails, map[string]string{ // 311 passed
		"TestAllocs": fakeAllocs, "TestListenIPv6WildcardAddr": fakeWildcard})},
	{pkg: "net", variant: "gvisor", imports: []string{"tamanet/netstack/stdnet/loopnet"}, minPass: 276, // 307 passed
		fail: with(netFails, map[string]string{
			"TestListenConfigControl": noSocketControl,
			"TestAllocs":              gvisorAllocs, "TestTCPReadWriteAllocs": gvisorAllocs,
			"TestIPConnLocalName": noRawIP, "TestIPConnRemoteName": noRawIP, "TestIPConnSpecificMethods": noRawIP})},
	{pkg: "net/http", minPass: 1387}, // 1542 passed
	{pkg: "crypto/tls", minPass: 662, fail: map[string]string{ // 736 passed
		"TestClientHandshakeContextCancellation": noDoubleCloseError,
		"TestServerHandshakeContextCancellation": noDoubleCloseError}},
	{pkg: "crypto/x509", minPass: 504}, // 561 passed
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
		t.Run(c.name(), func(t *testing.T) {
			file := strings.ReplaceAll(c.name(), "/", "_")
			src := filepath.Join(dir, file+"_userlinux_test.go")
			if err := os.WriteFile(src, []byte(c.overlay()), 0o644); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(root, "src", filepath.FromSlash(c.pkg), "zz_tamanet_userlinux_test.go")
			overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {target: src}})
			ovFile := filepath.Join(dir, file+".json")
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
			if problems := c.problems(run); len(problems) > 0 {
				t.Fatalf("%s\n%s", strings.Join(problems, "\n"), run.output)
			}
			line := fmt.Sprintf("%-16s %s; %d passed, %d skipped", c.name(), verdict(c), run.count("pass"), run.count("skip"))
			if te := run.testenvSkips(); len(te) > 0 {
				line += fmt.Sprintf(", %d of them by internal/testenv:\n    %s", len(te), strings.Join(te, "\n    "))
			}
			summary = append(summary, line)
		})
	}
	t.Logf("standard library under GOOS=tamago (user/linux):\n%s", strings.Join(summary, "\n"))
}

// problems lists how run, c's go test -json stream, differs from what c
// expects; none means the suite passed.
func (c stdCase) problems(run *testRun) []string {
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
	if n := run.count("pass"); n < c.minPass {
		problems = append(problems, fmt.Sprintf("%d tests passed (%d skipped), fewer than the %d pinned: tests that ran before are skipped or gone", n, run.count("skip"), c.minPass))
	}
	return problems
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
