//go:build !tamago

package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

const bootTimeout = 3 * time.Minute

// TestKVUnikernel boots the example as an image, the way make run
// APP=./examples/kv does, and uses the store and the system's routes over
// QEMU user networking (127.0.0.1 only), on both machine types: on q35 the
// e1000's interrupt arrives through the firmware's legacy PIRQ route.
func TestKVUnikernel(t *testing.T) {
	image := tamagotest.BuildImage(t, "./examples/kv", "")
	for _, machine := range []string{"pc", "q35"} {
		t.Run(machine, func(t *testing.T) { testKV(t, image, machine) })
	}
}

func testKV(t *testing.T, image, machine string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	vm := tamagotest.Start(t, image, []string{"-M", machine, "-p", strconv.Itoa(port)})
	ready := vm.Await(t, "READY kv", bootTimeout)
	t.Logf("%s", ready.Text)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// READY means listening, not yet reachable: QEMU's e1000 holds frames
	// back for a second after receive is enabled, and slirp may reset a
	// connection it could not complete meanwhile. Wait, bounded, for the
	// first answer.
	deadline := time.Now().Add(bootTimeout)
	for {
		resp, err := http.Get(base + "/stats")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer within %v of READY: %v", bootTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	check(t, base, []exchange{
		{"PUT", "/kv/unikernel", "tamanet", 204, ""},
		{"GET", "/kv/unikernel", "", 200, "tamanet"},
		{"GET", "/kv/", "", 200, "unikernel\n"},
		{"GET", "/kv/nope", "", 404, ""},
		{"GET", "/stats", "", 200, `"napi_mode": "napi"`},
		{"GET", "/metrics", "", 200, "tamanet_e1000_rx_packets_total "},
	})
	resp, err := http.Get(base + "/debug/pcap?packets=1&seconds=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.tcpdump.pcap" {
		t.Errorf("GET /debug/pcap: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestKVBadStart: mistyped boot options and a machine without an e1000
// each stop the boot with a message naming the problem and a failure
// status, not a hang.
func TestKVBadStart(t *testing.T) {
	image := tamagotest.BuildImage(t, "./examples/kv", "")
	for _, c := range []struct {
		name     string
		qemuArgs []string
		extra    []string
		want     string
	}{
		{"badoption", []string{"-M", "pc"}, []string{"-append", "budget=0"}, "kv: boot option budget=0: want a packet count in [1, 4096]"},
		{"nonic", []string{"-M", "pc", "-0"}, nil, "kv: no e1000 (8086:100e) bound"},
		{"badip6", []string{"-M", "pc"}, []string{"-append", "ip6=fd00::/64"}, "kv: boot option ip6=fd00::/64: fd00:: is the network address of fd00::/64"},
		{"badgw", []string{"-M", "pc"}, []string{"-append", "ip=192.168.1.5/24 gw=10.0.2.2"}, "kv: boot option gw=10.0.2.2: outside 192.168.1.5/24 (ip=)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, accel := tamagotest.BootWith(t, image, c.qemuArgs, bootTimeout, c.extra...)
			t.Logf("accelerator %s, %v", accel, r.Elapsed.Round(time.Millisecond))
			if !strings.Contains(r.Output, c.want) {
				t.Errorf("console lacks %q:\n%s", c.want, r.Output)
			}
			if want := 1<<1 | 1; r.ExitCode != want {
				t.Errorf("QEMU exit status %d, want %d", r.ExitCode, want)
			}
		})
	}
}
