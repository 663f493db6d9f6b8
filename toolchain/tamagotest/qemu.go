package tamagotest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// accel is qemu.sh's -a value: TAMANET_ACCEL, else auto (a probe boot
// decides).
func accel() string {
	if a := os.Getenv("TAMANET_ACCEL"); a != "" {
		return a
	}
	return "auto"
}

// Firmware is qemu.sh's -f value: TAMANET_FIRMWARE (qboot or seabios),
// else qboot, qemu.sh's default. Setting it runs the whole QEMU tier on that
// firmware.
func Firmware() string {
	if f := os.Getenv("TAMANET_FIRMWARE"); f != "" {
		return f
	}
	return "qboot"
}

// Boot runs image under QEMU through the repository's qemu.sh and returns
// the serial console output and QEMU's exit status. machine is a -M value;
// extra goes to QEMU unchanged.
func Boot(t testing.TB, image, machine string, timeout time.Duration, extra ...string) (Result, string) {
	t.Helper()
	return BootWith(t, image, []string{"-M", machine}, timeout, extra...)
}

// BootWith is Boot with qemu.sh's own options before the image (e.g. "-M",
// "q35", "-0", "-f", "qboot"; a "-f" there overrides Firmware).
func BootWith(t testing.TB, image string, qemuArgs []string, timeout time.Duration, extra ...string) (Result, string) {
	t.Helper()
	args := append([]string{"-a", accel(), "-f", Firmware()}, qemuArgs...)
	args = append(append(args, image, "--"), extra...)
	cmd := exec.Command(filepath.Join(RepoRoot(t), "qemu.sh"), args...)
	r, err := Run(cmd, timeout)
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, r.Output)
	}
	used := "unknown"
	for _, l := range strings.Split(r.Output, "\n") {
		if a, ok := strings.CutPrefix(l, "qemu.sh: accelerator "); ok {
			used = strings.TrimSpace(a)
		}
	}
	return r, used
}

// stopTimeout bounds how long a VM's cleanup waits for qemu.sh to stop
// QEMU after SIGTERM before killing it.
const stopTimeout = 15 * time.Second

// Line is one console line and when the host read it.
type Line struct {
	Text string
	At   time.Time
}

// VM is a QEMU started in the background by Start.
type VM struct {
	Cmd   *exec.Cmd
	Lines chan Line // console lines, closed when QEMU's output ends
	done  chan struct{}
	err   error
}

// Start boots image with qemu.sh in the background; qemuArgs are qemu.sh's
// options before the image (e.g. "-p", "8080"; a later "-f" overrides
// Firmware), extra go to QEMU. QEMU is
// stopped when the test ends.
func Start(t testing.TB, image string, qemuArgs []string, extra ...string) *VM {
	t.Helper()
	args := append([]string{"-a", accel(), "-f", Firmware()}, qemuArgs...)
	args = append(append(args, image, "--"), extra...)
	cmd := exec.Command(filepath.Join(RepoRoot(t), "qemu.sh"), args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	vm := &VM{Cmd: cmd, Lines: make(chan Line, 1024), done: make(chan struct{})}
	go func() {
		s := bufio.NewScanner(out)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			vm.Lines <- Line{strings.TrimRight(s.Text(), "\r"), time.Now()}
		}
		close(vm.Lines)
		vm.err = cmd.Wait()
		close(vm.done)
	}()
	t.Cleanup(func() {
		// TERM first: in tap mode qemu.sh runs QEMU as its child and its
		// trap stops QEMU and removes the namespace, which a KILL of the
		// script would leave behind (with QEMU holding the console).
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-vm.done:
		case <-time.After(stopTimeout):
			cmd.Process.Kill()
			<-vm.done
		}
	})
	return vm
}

// Await returns the first console line containing s, failing the test on
// timeout or if QEMU ends first. Lines before it are logged.
func (vm *VM) Await(t testing.TB, s string, timeout time.Duration) Line {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-vm.Lines:
			if !ok {
				t.Fatalf("QEMU ended before %q", s)
			}
			if strings.Contains(l.Text, s) {
				return l
			}
			t.Log(l.Text)
		case <-deadline:
			t.Fatalf("no %q within %v", s, timeout)
		}
	}
}

// CPUTime returns the user+system CPU time QEMU has used, from /proc.
func (vm *VM) CPUTime(t testing.TB) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", vm.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (USER_HZ = 100).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
