//go:build !tamago

package main

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
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

// tapOffloads are the features QEMU's tap backend lets the device offer
// (it has a virtio-net header with the host kernel; user networking has
// none), each of which the driver must negotiate.
var tapOffloads = []string{"CSUM", "GUEST_CSUM", "HOST_TSO4", "HOST_TSO6", "GUEST_TSO4", "GUEST_TSO6", "MRG_RXBUF", "EVENT_IDX"}

// TestVirtioNetTap boots the unikernel on virtio-net over a tap, where
// the device offers its offloads: on pc (the modern transport with MSI-X)
// and microvm (virtio-mmio), with a static IPv6 address. Over IPv4 and
// IPv6 it checks a download and an upload echoed back, both by SHA-256,
// TCP and UDP echo; that large frames went both ways (TSO out, GSO frames
// in, partial checksums); and a link flap over QMP in the middle of a
// download.
func TestVirtioNetTap(t *testing.T) {
	vmtest.RequireTap(t)
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	for _, machine := range []string{"pc", "microvm"} {
		t.Run(machine, func(t *testing.T) {
			v, ready := bootReady(t, vm.Config{Image: image, Machine: machine, NIC: "virtio", Network: vm.Tap, TapIPv6: true,
				QMP: true, Cmdline: tapBootOpt})
			for _, f := range tapOffloads {
				if !hasWord(ready.Text, f) {
					t.Errorf("READY line lacks feature %s: %s", f, ready.Text)
				}
			}
			dialer := vm.NewNetnsDialer(v.Netns)
			client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 1, DisableCompression: true}}
			t.Cleanup(client.CloseIdleConnections)
			for _, addr := range []netip.Addr{netip.MustParseAddr("10.0.2.20"), netip.MustParseAddr("fd00:1::15")} {
				t.Run(ipVersion(addr), func(t *testing.T) {
					g := &guest{vm: v, ready: ready, base: "http://" + netip.AddrPortFrom(addr, httpPort).String(), client: client}
					g.testRoot(t)
					g.testDownload(t, tapBulkBytes, true)
					g.testUpload(t, tapBulkBytes, true)
					echoTCP(t, dialer, netip.AddrPortFrom(addr, echoPort).String())
					echoUDP(t, dialer, addr, "")
				})
			}
			g := &guest{vm: v, ready: ready, base: "http://10.0.2.20", client: client}
			vs := g.virtioStats(t)
			if vs.TX.TSO == 0 || vs.RX.GSO == 0 || vs.RX.ChecksumOffloaded == 0 {
				t.Errorf("offloads unused over the tap: %d TSO frames sent, %d GSO frames and %d checksum-verified frames received",
					vs.TX.TSO, vs.RX.GSO, vs.RX.ChecksumOffloaded)
			}
			t.Run("linkflap", g.testLinkFlap)
		})
	}
}

// tapBulkBytes is each transfer of TestVirtioNetTap.
const tapBulkBytes = 32 << 20

func ipVersion(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// virtioStats is the virtio-net driver's part of /stats that the tests
// read.
type virtioStats struct {
	RX struct {
		GSO               uint64 `json:"gso"`
		ChecksumOffloaded uint64 `json:"checksum_offloaded"`
	} `json:"rx"`
	TX struct {
		TSO uint64 `json:"tso"`
	} `json:"tx"`
}

func (g *guest) virtioStats(t *testing.T) virtioStats {
	t.Helper()
	var doc struct {
		System struct {
			VirtioNet *virtioStats `json:"virtio_net"`
		} `json:"system"`
	}
	if err := json.Unmarshal(g.get(t, "/stats"), &doc); err != nil || doc.System.VirtioNet == nil {
		t.Fatalf("/stats has no virtio_net member (%v)", err)
	}
	return *doc.System.VirtioNet
}

// hasWord reports whether s has w as a word of its own.
func hasWord(s, w string) bool {
	return slices.ContainsFunc(strings.Fields(s), func(f string) bool { return strings.Trim(f, ",;") == w })
}
