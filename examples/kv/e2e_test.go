//go:build !tamago

package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/unikernel/admin/admintest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

const bootTimeout = 3 * time.Minute

// TestKVUnikernel boots the example as an image, the way make run
// APP=./examples/kv does, and uses the store and the system's routes over
// QEMU user networking (127.0.0.1 only), on both machine types: on q35 the
// e1000's interrupt arrives through the firmware's legacy PIRQ route. The
// pc guest has the default boot options, the q35 one the admin listener.
func TestKVUnikernel(t *testing.T) {
	image := tamagotest.BuildImage(t, "./examples/kv", "")
	t.Run("pc", func(t *testing.T) { testKV(t, image, "pc", false) })
	t.Run("q35-admin", func(t *testing.T) { testKV(t, image, "q35", true) })
}

func testKV(t *testing.T, image, machine string, withAdmin bool) {
	cfg := vm.Config{Image: image, Machine: machine, Ports: []vm.Port{{Guest: 80}}}
	if withAdmin {
		cfg.Ports = append(cfg.Ports, vm.Port{Guest: 8081})
		cfg.Cmdline = "admin=8081"
	}
	g := vmtest.Start(t, cfg)
	ready := vmtest.Await(t, g, "READY kv", 0, bootTimeout)
	t.Logf("%s", ready.Text)
	base := g.URL(80, "")
	// READY means listening, not yet reachable: QEMU's e1000 holds frames
	// back for a second after receive is enabled, and slirp may reset a
	// connection it could not complete meanwhile. Wait, bounded, for the
	// first answer.
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	if _, err := g.AwaitHTTP(ctx, base+"/stats"); err != nil {
		t.Fatalf("no answer within %v of READY: %v", bootTimeout, err)
	}
	check(t, base, []exchange{
		{"PUT", "/kv/unikernel", "tamanet", 204, ""},
		{"GET", "/kv/unikernel", "", 200, "tamanet"},
		{"GET", "/kv/", "", 200, "unikernel\n"},
		{"GET", "/kv/nope", "", 404, ""},
		{"GET", "/stats", "", 200, `"napi_mode": "napi"`},
		{"GET", "/metrics", "", 200, "tamanet_e1000_rx_packets_total "},
	})
	// The debug routes: never on the application's port, on the admin
	// listener where the boot options open one.
	admintest.ExpectNotServed(t, http.DefaultClient, base)
	if withAdmin {
		admintest.ExpectServed(t, http.DefaultClient, g.URL(8081, ""))
	}
}

// TestKVBadStart: mistyped boot options and a machine without an e1000
// each stop the boot with a message naming the problem and a failure
// status, not a hang.
func TestKVBadStart(t *testing.T) {
	image := tamagotest.BuildImage(t, "./examples/kv", "")
	for _, c := range []struct {
		name string
		cfg  vm.Config
		want string
	}{
		{"badoption", vm.Config{Cmdline: "budget=0"}, "kv: boot option budget=0: want a packet count in [1, 4096]"},
		{"nonic", vm.Config{Network: vm.NoNIC}, "kv: no NIC bound (an e1000 8086:100e or a virtio-net device)"},
		{"badip6", vm.Config{Cmdline: "ip6=fd00::/64"}, "kv: boot option ip6=fd00::/64: fd00:: is the network address of fd00::/64"},
		{"badgw", vm.Config{Cmdline: "ip=192.168.1.5/24 gw=10.0.2.2"}, "kv: boot option gw=10.0.2.2: outside 192.168.1.5/24 (ip=)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Image = image
			r := vmtest.Run(t, c.cfg, bootTimeout)
			t.Logf("accelerator %s, %v", r.Accel, r.Elapsed.Round(time.Millisecond))
			if !strings.Contains(r.Output, c.want) {
				t.Errorf("console lacks %q:\n%s", c.want, r.Output)
			}
			if want := 1<<1 | 1; r.ExitCode != want {
				t.Errorf("QEMU exit status %d, want %d", r.ExitCode, want)
			}
		})
	}
}
