//go:build linux

package vm_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// A paused machine (QEMU -S) is a guest that runs until it is stopped,
// whatever the image does.
var paused = []string{"-S"}

func image(t *testing.T) string {
	return tamagotest.BuildImage(t, "./board/bootcheck", "")
}

// TestStopLeavesNothing starts paused guests in both network modes and
// checks that Stop ends QEMU and removes the namespace.
func TestStopLeavesNothing(t *testing.T) {
	img := image(t)
	for _, n := range []vm.Network{vm.User, vm.Tap} {
		t.Run(n.String(), func(t *testing.T) {
			cfg := vm.Config{Image: img, Network: n, QEMUArgs: paused, QMP: true,
				Ports: []vm.Port{{Guest: 80}, {Guest: 7, UDP: true}}}
			g := vmtest.Start(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			pid, err := g.PID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			q, err := g.QMP(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var status struct {
				Status string `json:"status"`
			}
			if err := q.Execute("query-status", nil, &status); err != nil || status.Status != "prelaunch" {
				t.Errorf("query-status: %+v, %v; want the paused machine's prelaunch", status, err)
			}
			if n == vm.Tap {
				if err := g.Ready(ctx); err != nil {
					t.Fatal(err)
				}
				if !netnsExists(g.Netns) {
					t.Fatalf("no namespace %s while the guest runs", g.Netns)
				}
			}
			g.Stop()
			if processAlive(pid) {
				t.Errorf("QEMU (pid %d) still runs after Stop", pid)
			}
			if n == vm.Tap && netnsExists(g.Netns) {
				t.Errorf("namespace %s left after Stop", g.Netns)
			}
		})
	}
}

// TestLauncherKilled kills (SIGKILL, no cleanup of its own) a process that
// started a tap-mode guest, as go test's timeout does to a test binary,
// and checks that its QEMU and namespace go away all the same.
func TestLauncherKilled(t *testing.T) {
	if os.Getenv("VM_TEST_LAUNCHER") != "" {
		launcher()
		return
	}
	vmtest.RequireTap(t)
	img := image(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLauncherKilled$")
	// The launcher dies before it can remove its guest's directory (pid
	// file): make it under this test's, which the test removes.
	cmd.Env = append(os.Environ(), "VM_TEST_LAUNCHER="+img, "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var pid int
	var ns string
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if _, err := fmt.Sscanf(l, "launched %d %s", &pid, &ns); err != nil {
			t.Fatalf("launcher said %q: %v", l, err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the launcher did not start its guest within 2 minutes")
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(time.Minute)
	for processAlive(pid) || netnsExists(ns) {
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the launcher died: QEMU alive %v, namespace %s left %v",
				processAlive(pid), ns, netnsExists(ns))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// launcher is the child of TestLauncherKilled: it starts a paused tap-mode
// guest, says which, and waits to be killed.
func launcher() {
	g, err := vm.Start(vm.Config{Image: os.Getenv("VM_TEST_LAUNCHER"), Network: vm.Tap, QEMUArgs: paused}, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pid, err := g.PID(ctx)
	if err == nil {
		err = g.Ready(ctx)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("launched", pid, g.Netns)
	time.Sleep(time.Hour)
}

func processAlive(pid int) bool {
	// A zombie has no /proc/PID/task entries' threads running; its state
	// is Z, and a dead process has no stat at all.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && syscall.Kill(pid, 0) == nil
}

func netnsExists(ns string) bool {
	_, err := os.Stat("/var/run/netns/" + ns)
	return err == nil
}

// TestResolveAccelAgrees checks that ResolveAccel answers what qemu.sh's
// -a auto picks for the same image.
func TestResolveAccelAgrees(t *testing.T) {
	img := image(t)
	want, err := vm.ResolveAccel(img, "")
	if err != nil {
		t.Fatal(err)
	}
	g := vmtest.Start(t, vm.Config{Image: img, Accel: "auto", Network: vm.NoNIC, QEMUArgs: paused})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, _, err := g.Console.Await(ctx, "qemu.sh: accelerator ", 0); err != nil {
		t.Fatal(err)
	}
	if got := g.Accelerator(); got != want {
		t.Errorf("qemu.sh -a auto chose %q, ResolveAccel %q", got, want)
	}
}

// TestNIC starts paused guests with each NIC choice and reads QEMU's
// device tree over QMP: the model, its properties and its netdev net0 (set_link
// names it), and the modern virtio-mmio layout on microvm.
func TestNIC(t *testing.T) {
	img := image(t)
	for _, c := range []struct {
		machine, nic string
		want         []string
	}{
		{"", "", []string{"dev: e1000,", `netdev = "net0"`}},
		{"", "virtio,mrg_rxbuf=off,event_idx=off", []string{"dev: virtio-net-pci,", "dev: virtio-net-device,", "mrg_rxbuf = false", "event_idx = false", `netdev = "net0"`}},
		{"q35", "virtio", []string{"dev: virtio-net-pci,", "mrg_rxbuf = true", `netdev = "net0"`}},
		{"microvm", "virtio,csum=off", []string{"dev: virtio-net-device,", "csum = false", "force-legacy = false", `netdev = "net0"`}},
	} {
		t.Run(cmp.Or(c.machine, "pc")+"/"+cmp.Or(c.nic, "default"), func(t *testing.T) {
			g := vmtest.Start(t, vm.Config{Image: img, Machine: c.machine, NIC: c.nic, Accel: "tcg", QEMUArgs: paused, QMP: true})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			q, err := g.QMP(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tree, err := q.HMP("info qtree")
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(tree, w) {
					t.Errorf("info qtree has no %q", w)
				}
			}
			if err := q.SetLink("net0", false); err != nil {
				t.Errorf("set_link net0: %v", err)
			}
		})
	}
}

// TestNICRefused checks that an e1000 on microvm (no PCI) and an unknown
// model end qemu.sh with a message naming the problem, before QEMU runs.
func TestNICRefused(t *testing.T) {
	img := image(t)
	for _, c := range []struct{ machine, nic, want string }{
		{"microvm", "e1000", "microvm has no PCI bus"},
		{"", "rtl8139", "want e1000 or virtio"},
	} {
		g := vmtest.Start(t, vm.Config{Image: img, Machine: c.machine, NIC: c.nic, Accel: "tcg", QEMUArgs: paused})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		code, err := g.Wait(ctx)
		cancel()
		if err != nil || code != 2 || !strings.Contains(g.Console.Text(), c.want) {
			t.Errorf("-M %s -n %s: exit %d, %v, console %q; want exit 2 saying %q", c.machine, c.nic, code, err, g.Console.Text(), c.want)
		}
	}
}
