//go:build !tamago

package main

import (
	"strings"
	"testing"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
)

// virtioMachines are the machines and transports the virtio-net driver is
// checked on: pc and q35 with QEMU's default transitional virtio-net-pci
// (the modern transport, MSI-X), pc with a legacy-only device (the legacy
// transport on INTx) and microvm's virtio-mmio.
var virtioMachines = []struct {
	name, machine, nic string
	// transport is what the READY line must name.
	transport string
	full      bool // the whole user-networking list, else a short one
}{
	{"pc", "pc", "virtio", "pci-modern", true},
	{"q35", "q35", "virtio", "pci-modern", true},
	{"microvm", "microvm", "virtio", "mmio-v2", true},
	{"pc-legacy", "pc", "virtio,disable-modern=on", "pci-legacy", false},
}

// TestVirtioNet boots the unikernel on virtio-net on each machine and talks
// to it over QEMU user networking as TestE2E does with the e1000: GET / and
// the boot phases, keep-alive requests, a download and an upload checked by
// SHA-256, TCP and UDP echo, /metrics, /debug/pcap read by tshark and a link
// flap over QMP in the middle of a download.
func TestVirtioNet(t *testing.T) {
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	for _, m := range virtioMachines {
		t.Run(m.name, func(t *testing.T) {
			g := bootGuestOn(t, vm.Config{Image: image, Machine: m.machine, NIC: m.nic, Cmdline: withAdmin("")})
			s := g.stats(t)
			if s.System.NIC != "virtio-net" {
				t.Fatalf("/stats nic %q, want virtio-net", s.System.NIC)
			}
			// READY names the device, its transport and what it
			// negotiated.
			if !strings.Contains(g.ready.Text, ", virtio-net "+m.transport+" ") {
				t.Errorf("READY line does not name virtio-net on %s: %s", m.transport, g.ready.Text)
			}
			t.Run("root", g.testRoot)
			t.Run("boot", g.testBoot)
			t.Run("download", func(t *testing.T) { g.testDownload(t, downloadBytes, true) })
			t.Run("upload", func(t *testing.T) { g.testUpload(t, uploadBytes, true) })
			t.Run("echo", g.testEcho)
			if !m.full {
				return
			}
			t.Run("keepalive", g.testKeepAlive)
			t.Run("metrics", g.testMetrics)
			t.Run("pcap", g.testPcap)
			t.Run("linkflap", g.testLinkFlap)
		})
	}
}
