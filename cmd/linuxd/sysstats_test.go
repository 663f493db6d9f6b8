package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tamanet/expose"
)

func fakeRoot(t *testing.T, interrupts string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "sys/class/net/eth0/statistics")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"rx_packets": "12\n", "tx_bytes": "3400\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/interrupts"), []byte(interrupts), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

const interrupts = `           CPU0       CPU1
  0:         35          0   IO-APIC   2-edge      timer
 11:       1200         34   IO-APIC  11-fasteoi   uhci_hcd:usb1, eth0
 12:          5          0   IO-APIC  12-edge      eth00
NMI:          0          0   Non-maskable interrupts
`

func TestSysStats(t *testing.T) {
	st := sysSource{root: fakeRoot(t, interrupts), ifname: "eth0"}.stats()
	if len(st.Errors) != 0 || st.IRQs != 1234 || st.Counters["rx_packets"] != 12 || st.Counters["tx_bytes"] != 3400 {
		t.Fatalf("got %+v", st)
	}
}

// TestSysStatsVirtio counts virtio_net's vectors, which /proc/interrupts
// names after the device (sysfs eth0/device), not the interface.
func TestSysStatsVirtio(t *testing.T) {
	root := fakeRoot(t, `           CPU0
 24:          3   PCI-MSI 49152-edge      virtio0-config
 25:        700   PCI-MSI 49153-edge      virtio0-input.0
 26:         50   PCI-MSI 49154-edge      virtio0-output.0
 27:          9   PCI-MSI 65536-edge      virtio1-input.0
 11:          4   IO-APIC  11-fasteoi   virtio0, uhci_hcd:usb1
`)
	if err := os.Symlink("../../../virtio0", filepath.Join(root, "sys/class/net/eth0/device")); err != nil {
		t.Fatal(err)
	}
	st := sysSource{root: root, ifname: "eth0"}.stats()
	if len(st.Errors) != 0 || st.IRQs != 757 {
		t.Fatalf("got %+v, want 757 interrupts", st)
	}
}

func TestSysStatsErrorsReported(t *testing.T) {
	st := sysSource{root: fakeRoot(t, "CPU0\n 11: 1 IO-APIC x eth1\n"), ifname: "eth0"}.stats()
	if len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "no line for eth0") {
		t.Fatalf("got %+v", st)
	}
	st = sysSource{root: t.TempDir(), ifname: "eth0"}.stats()
	if len(st.Errors) != 2 {
		t.Fatalf("missing files not reported: %+v", st)
	}
}

func TestSysMetricsExposable(t *testing.T) {
	st := sysSource{root: fakeRoot(t, interrupts), ifname: "eth0"}.stats()
	tree, err := expose.Build(st)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range expose.Samples(tree, "linux", "system") {
		got[s.Name+fmt.Sprint(s.LabelValues)] = s.Value
	}
	for name, want := range map[string]float64{
		"linux_counters_total[eth0 rx_packets]": 12,
		"linux_irqs_total[eth0]":                1234,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v; have %v", name, got[name], want, got)
		}
	}
}
