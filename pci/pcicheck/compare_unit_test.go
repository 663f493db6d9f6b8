//go:build !tamago

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"tamanet/pci"
)

// queryPCISample is a cut-down query-pci reply from QEMU 7.2 -M pc: the
// host bridge, an e1000 with its unmapped expansion ROM (bar 6), and a
// PCI-to-PCI bridge with a virtio-rng behind it.
const queryPCISample = `[{"bus": 0, "devices": [
 {"irq_pin": 0, "bus": 0, "slot": 0, "function": 0, "class_info": {"class": 1536, "desc": "Host bridge"},
  "id": {"device": 4663, "vendor": 32902}, "regions": []},
 {"irq_pin": 1, "irq": 11, "bus": 0, "slot": 3, "function": 0, "class_info": {"class": 512},
  "id": {"device": 4110, "vendor": 32902}, "regions": [
   {"prefetch": false, "mem_type_64": false, "bar": 0, "size": 131072, "address": 4270325760, "type": "memory"},
   {"bar": 1, "size": 64, "address": 49152, "type": "io"},
   {"prefetch": false, "mem_type_64": false, "bar": 6, "size": 262144, "address": -1, "type": "memory"}]},
 {"irq_pin": 1, "irq": 11, "bus": 0, "slot": 7, "function": 0, "class_info": {"class": 1540},
  "id": {"device": 1, "vendor": 6966},
  "pci_bridge": {"bus": {"number": 0, "secondary": 1, "subordinate": 1}, "devices": [
   {"irq_pin": 1, "irq": 11, "bus": 1, "slot": 0, "function": 0, "class_info": {"class": 255},
    "id": {"device": 4101, "vendor": 6900}, "regions": [
     {"prefetch": true, "mem_type_64": true, "bar": 4, "size": 16384, "address": 4261412864, "type": "memory"}]}]},
  "regions": [{"prefetch": false, "mem_type_64": true, "bar": 0, "size": 256, "address": -1, "type": "memory"}]}
]}]`

// The guest's table for the same functions, as pcicheck prints it.
var guestSample = []string{
	"00:00.0 0600: 8086:1237 rev 02",
	"00:03.0 0200: 8086:100e rev 03  irq 11 pin A  BAR0 mem32 0xfe880000 [size 0x20000]  BAR1 io 0xc000 [size 0x40]",
	"00:07.0 0604: 1b36:0001 rev 00  irq 11 pin A  BAR0 mem64 0xfeab2000 [size 0x100]  bus 01-01  caps 05@4c 04@48 0c@40",
	"01:00.0 00ff: 1af4:1005 rev 00  irq 11 pin A  BAR4 mem64 pref 0xfe000000 [size 0x4000]  caps 11@98",
}

func sampleTables(t *testing.T) (guest, qemu []pci.Entry) {
	t.Helper()
	var buses []qmpPCIBus
	if err := json.Unmarshal([]byte(queryPCISample), &buses); err != nil {
		t.Fatal(err)
	}
	qemu, err := qmpEntries(buses)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range guestSample {
		e, err := pci.ParseEntry(l)
		if err != nil {
			t.Fatal(err)
		}
		guest = append(guest, e)
	}
	return guest, qemu
}

// TestDiffTablesAgree: the sample views agree, the bridge's unmapped BAR
// being compared by kind and size only and the ROM BAR left out.
func TestDiffTablesAgree(t *testing.T) {
	guest, qemu := sampleTables(t)
	if len(qemu) != 4 || qemu[3].Addr != (pci.Address{Bus: 1}) {
		t.Fatalf("query-pci sample gave %v", qemu)
	}
	if diff := diffTables(guest, qemu); len(diff) != 0 {
		t.Errorf("unexpected differences:\n%s", strings.Join(diff, "\n"))
	}
}

// TestDiffTablesDisagree: each field the test relies on is compared.
func TestDiffTablesDisagree(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perturb func(guest []pci.Entry) []pci.Entry
		want    string
	}{
		{"BAR size", func(g []pci.Entry) []pci.Entry { g[1].BARs[0].Size *= 2; return g }, "00:03.0: differs"},
		{"BAR address", func(g []pci.Entry) []pci.Entry { g[1].BARs[1].Addr += 0x40; return g }, "00:03.0: differs"},
		{"BAR kind", func(g []pci.Entry) []pci.Entry { g[2].BARs[0].Kind = pci.BARMem32; return g }, "00:07.0: differs"},
		{"prefetchable", func(g []pci.Entry) []pci.Entry { g[3].BARs[0].Prefetchable = false; return g }, "01:00.0: differs"},
		{"class", func(g []pci.Entry) []pci.Entry { g[0].SubClass = 0x80; return g }, "00:00.0: differs"},
		{"device ID", func(g []pci.Entry) []pci.Entry { g[1].DeviceID = 0x100f; return g }, "00:03.0: differs"},
		{"IRQ line", func(g []pci.Entry) []pci.Entry { g[3].InterruptLine = 10; return g }, "01:00.0: differs"},
		{"bridge buses", func(g []pci.Entry) []pci.Entry { g[2].SubordinateBus = 2; return g }, "00:07.0: differs"},
		{"missing BAR", func(g []pci.Entry) []pci.Entry { g[1].BARs = g[1].BARs[:1]; return g }, "00:03.0: differs"},
		{"missing function", func(g []pci.Entry) []pci.Entry { return g[:3] }, "01:00.0: missing from the guest's table"},
		{"extra function", func(g []pci.Entry) []pci.Entry {
			e := g[1]
			e.Addr.Device = 4
			return append(g[:2], append([]pci.Entry{e}, g[2:]...)...)
		}, "00:04.0: only in the guest's table"},
	} {
		guest, qemu := sampleTables(t)
		diff := diffTables(tc.perturb(guest), qemu)
		if len(diff) != 1 || !strings.HasPrefix(diff[0], tc.want) {
			t.Errorf("%s: diff %q, want one starting %q", tc.name, diff, tc.want)
		}
	}
}

// TestQMPEntriesBadInput: values that do not fit their registers are
// errors, not truncated.
func TestQMPEntriesBadInput(t *testing.T) {
	for _, bad := range []string{
		`[{"bus": 0, "devices": [{"bus": 0, "slot": 32, "function": 0, "class_info": {"class": 0}, "id": {}, "irq_pin": 0, "regions": []}]}]`,
		`[{"bus": 0, "devices": [{"bus": 0, "slot": 1, "function": 0, "class_info": {"class": 65536}, "id": {}, "irq_pin": 0, "regions": []}]}]`,
		`[{"bus": 0, "devices": [{"bus": 0, "slot": 1, "function": 0, "class_info": {"class": 0}, "id": {}, "irq_pin": 1, "regions": []}]}]`,
		`[{"bus": 0, "devices": [{"bus": 0, "slot": 1, "function": 0, "class_info": {"class": 0}, "id": {}, "irq_pin": 0,
		  "regions": [{"bar": 0, "type": "rom", "address": 0, "size": 16}]}]}]`,
		`[{"bus": 0, "devices": [{"bus": 0, "slot": 1, "function": 0, "class_info": {"class": 0}, "id": {}, "irq_pin": 0,
		  "regions": [{"bar": 0, "type": "io", "address": -2, "size": 16}]}]}]`,
	} {
		var buses []qmpPCIBus
		if err := json.Unmarshal([]byte(bad), &buses); err != nil {
			t.Fatal(err)
		}
		if e, err := qmpEntries(buses); err == nil {
			t.Errorf("%s: accepted as %v", bad, e)
		}
	}
}

// TestGuestTable: the table is found between its marker lines, and a line
// the pci package cannot read is an error.
func TestGuestTable(t *testing.T) {
	out := "SeaBIOS\r\nBooting from ROM..\npcicheck: table begin\n" + strings.Join(guestSample, "\n") +
		"\npcicheck: table end\npcicheck: 2 buses\n"
	got, err := guestTable(out)
	if err != nil || len(got) != len(guestSample) {
		t.Fatalf("guestTable: %d entries, %v", len(got), err)
	}
	if _, err := guestTable(strings.Replace(out, "rev 03", "rev 3", 1)); err == nil {
		t.Error("non-canonical line accepted")
	}
	if _, err := guestTable(strings.Replace(out, "pcicheck: table end", "", 1)); err == nil {
		t.Error("table without its end line accepted")
	}
}
