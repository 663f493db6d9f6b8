//go:build !tamago

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// TestBootFigure boots the unikernel and times it with tamabench boot as
// make bench does, in user networking and (where the machine allows) tap
// mode, on SeaBIOS and on qboot (where the unikernel assigns the PCI BARs
// itself): the guest answers, reports its phases, and they land on the
// host's clock where QEMU's e1000 says they are (nothing received before a
// second after the RCTL write). How soon the first 200 follows the moment
// the guest could first answer is logged, not asserted: it is a speed
// figure (make bench reports it), and beside a CPU hog the guest itself took
// seconds to serve its first request.
func TestBootFigure(t *testing.T) {
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	tb := buildTamabench(t)
	for _, fw := range []string{"seabios", "qboot"} {
		for _, network := range []vm.Network{vm.User, vm.Tap} {
			t.Run(network.String()+"/"+fw, func(t *testing.T) {
				g := vmtest.Start(t, vm.Config{Image: image, Firmware: fw, Network: network,
					Ports: servicePorts(true), Cmdline: withAdmin("")})
				args := []string{"boot", "-json", "-start", strconv.FormatInt(g.Start.UnixNano(), 10),
					"-url", g.URL(httpPort, "/"), "-admin", g.URL(adminPort, "")}
				if network == vm.Tap {
					args = append(args, "-tap")
				}
				checkBootFigure(t, g.Command(tb, args...))
			})
		}
	}
}

// buildTamabench builds the host's benchmark tool.
func buildTamabench(t *testing.T) string {
	t.Helper()
	tb := filepath.Join(t.TempDir(), "tamabench")
	build := exec.Command(tamagotest.Go(t), "build", "-o", tb, "./cmd/tamabench")
	build.Dir = tamagotest.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tamabench: %v\n%s", err, out)
	}
	return tb
}

// checkBootFigure runs a tamabench boot command and checks its figure
// against the guest's phases.
func checkBootFigure(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(cmd.Args, " "), err, out, stderr.String())
	}
	// The boot test object of tamabench's result schema, as much as needed.
	var r struct {
		ElapsedMS float64 `json:"elapsed_ms"`
		Errors    uint64  `json:"errors"`
		Phases    []struct {
			Name string  `json:"name"`
			MS   float64 `json:"ms"`
		} `json:"phases"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("tamabench boot output %q: %v", out, err)
	}
	var table strings.Builder
	for _, p := range r.Phases {
		fmt.Fprintf(&table, "%8.1f ms  %s\n", p.MS, p.Name)
	}
	t.Logf("first 200 at %.1f ms after %d failed attempts; phases:\n%s", r.ElapsedMS, r.Errors, table.String())
	phase := func(name string) time.Duration {
		t.Helper()
		for _, p := range r.Phases {
			if p.Name == name {
				return time.Duration(p.MS * 1e6)
			}
		}
		t.Fatalf("no phase %s", name)
		return 0
	}
	first200 := time.Duration(r.ElapsedMS * 1e6)
	vmStart, handoff, rctl, firstRx := phase("vm_start"), phase("firmware_handoff"), phase("rx_enabled"), phase("first_rx")
	if !(0 < vmStart && vmStart < handoff && handoff < rctl && rctl < firstRx) {
		t.Errorf("phases out of order: vm start %v, hand-off %v, RCTL %v, first frame %v", vmStart, handoff, rctl, firstRx)
	}
	// The placement's error is half a round trip on the host.
	if hold := first200 - rctl; hold < time.Second-20*time.Millisecond {
		t.Errorf("first 200 only %v after the RCTL write: the phases are misplaced on the host clock", hold)
	}
	ready := phase("ready")
	t.Logf("first 200 %v after the guest could first answer (receiving and listening)", first200-max(firstRx, ready))
}

// TestTraceTail runs a traced latency test as make bench does (tamabench
// run -trace with QEMU's pid) and checks that the guest's trace came back
// and explained the tail: requests covered, the slowest counted by cause,
// and the events in the order a request meets them.
func TestTraceTail(t *testing.T) {
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	tb := buildTamabench(t)
	g, _ := bootReady(t, vm.Config{Image: image, Ports: servicePorts(true), Cmdline: withAdmin("")})
	ctx, cancel := context.WithTimeout(context.Background(), linkTimeout)
	defer cancel()
	pid, err := g.PID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hostPort := func(guestPort int) string {
		_, p, _ := net.SplitHostPort(g.Addr(guestPort))
		return p
	}
	cmd := exec.Command(tb, "run", "-json", "-trace", "-q", "-tests", "udpecho,keepalive", "-max-ops", "2000", "-duration", "0", "-warmup", "0",
		"-http-port", hostPort(httpPort), "-udp-port", hostPort(echoPort), "-tcp-port", hostPort(echoPort), "-admin-port", hostPort(adminPort),
		"-idle-pid", strconv.Itoa(pid), "-boot-start", strconv.FormatInt(time.Now().UnixNano(), 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tamabench: %v\n%s", err, stderr.String())
	}
	// tamabench's result schema, as much as needed.
	var res struct {
		Tests []struct {
			Name       string `json:"name"`
			Count      uint64 `json:"count"`
			TraceError string `json:"trace_error"`
			Tail       *struct {
				Requests  int            `json:"requests"`
				Slowest   int            `json:"slowest"`
				Uncovered int            `json:"uncovered"`
				Causes    map[string]int `json:"causes"`
				Median    map[string]int `json:"median_stages_ns"`
			} `json:"tail"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("tamabench output: %v", err)
	}
	traced := 0
	for _, tt := range res.Tests {
		if tt.Name == "boot" || tt.Name == "idle_cpu" {
			continue
		}
		if tt.TraceError != "" || tt.Tail == nil {
			t.Errorf("%s: no tail (%q)", tt.Name, tt.TraceError)
			continue
		}
		traced++
		tl := tt.Tail
		sum := 0
		for _, n := range tl.Causes {
			sum += n
		}
		t.Logf("%s: %d requests, %d traced (%d before the trace), slowest %d: causes %v, median stages %v",
			tt.Name, tt.Count, tl.Requests, tl.Uncovered, tl.Slowest, tl.Causes, tl.Median)
		if tl.Requests < int(tt.Count)*9/10 || tl.Slowest < 1 || sum != tl.Slowest {
			t.Errorf("%s: %d of %d requests traced, %d slowest, causes summing to %d", tt.Name, tl.Requests, tt.Count, tl.Slowest, sum)
		}
		// A request met the guest: its frame was harvested, the handler
		// ran, the answer was sent.
		if tl.Median["handler"] <= 0 || tl.Median["stack"]+tl.Median["out"] <= 0 {
			t.Errorf("%s: median stages %v: the trace did not see the request path", tt.Name, tl.Median)
		}
	}
	if traced != 2 {
		t.Errorf("%d traced tests, want 2", traced)
	}
	select {
	case <-g.Done():
		t.Error("QEMU ended during the run")
	default:
	}
}
