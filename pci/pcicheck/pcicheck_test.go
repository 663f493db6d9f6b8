//go:build !tamago

package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamanet/pci"
	"tamanet/pci/pcicheck/internal/protocol"
	"tamanet/pci/pcitest"
	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/qmp"
	"tamanet/vm/vmtest"
)

// extraDevices is what the test adds to qemu.sh's machine, which already
// has one e1000: a second e1000 on slot 6 (with a restricted user-net
// backend so that it has a peer), and a PCI-to-PCI bridge on slot 7 with a
// virtio-rng behind it, for a second bus, 64-bit BARs and a type 1 header.
var extraDevices = []string{
	"-netdev", "user,id=net1,restrict=on",
	"-device", "e1000,netdev=net1,addr=6,romfile=",
	"-device", "pci-bridge,id=br1,chassis_nr=1,addr=7",
	"-device", "virtio-rng-pci,bus=br1,addr=0",
}

// machines are the boards booted, with the chipset functions each must
// show, and the Interrupt Lines of the second e1000 (slot 6), the bridge
// (slot 7) and the virtio-rng behind it: the ISA IRQ the chipset routes
// each pin's PIRQ to, whichever firmware booted (qboot's own lines for
// them are one PIRQ off, which board.EnumeratePCI corrects). On q35 an
// IOAPIC-mode OS takes GSI 16-23 instead, but the register, which is what
// both views show, holds the ISA route.
var machines = []struct {
	name                  string
	hostBridge, isaBridge pci.ID
	lines                 map[pci.Address]uint8
}{
	// i440FX, PIIX3: slot 6 INTA is PIRQB (IRQ 10), slot 7 PIRQC (11).
	{"pc", pci.ID{Vendor: 0x8086, Device: 0x1237}, pci.ID{Vendor: 0x8086, Device: 0x7000},
		map[pci.Address]uint8{{Device: 6}: 10, {Device: 7}: 11, {Bus: 1}: 11}},
	// Q35 MCH, ICH9 LPC: slot 6 INTA is PIRQG, slot 7 PIRQH (both 11).
	{"q35", pci.ID{Vendor: 0x8086, Device: 0x29c0}, pci.ID{Vendor: 0x8086, Device: 0x2918},
		map[pci.Address]uint8{{Device: 6}: 11, {Device: 7}: 11, {Bus: 1}: 11}},
}

// TestPCITable boots the image with two e1000s and a bridge with a device
// behind it, and checks that its PCI table says what QEMU's monitor says
// about the same running machine, function by function. Under SeaBIOS the
// table is what firmware assigned; under qboot, which assigns no BARs, it
// is the guest's own assignment, which QEMU must then decode: the device
// behind the bridge answers a read of its MSI-X table through the bridge's
// window.
func TestPCITable(t *testing.T) {
	image := tamagotest.BuildImage(t, "./pci/pcicheck", "-X main.waitForHost=yes")
	for _, m := range machines {
		for _, fw := range []string{"seabios", "qboot"} {
			t.Run(m.name+"/"+fw, func(t *testing.T) {
				t.Parallel()
				guest, qemu, info, console := boot(t, image, m.name, fw)
				if diff := diffTables(guest, qemu); len(diff) > 0 {
					t.Errorf("the guest's table and QEMU's query-pci disagree:\n%s", strings.Join(diff, "\n"))
				}
				checkInfoPCI(t, guest, info)
				checkExpected(t, guest, m.hostBridge, m.isaBridge)
				for _, e := range guest {
					if w, ok := m.lines[e.Addr]; ok && e.InterruptLine != w {
						t.Errorf("%s: Interrupt Line %d, want %d (the chipset's route)", e.Addr, e.InterruptLine, w)
					}
				}
				checkDecodes(t, guest, console)
			})
		}
	}
}

// checkDecodes checks that every memory BAR has an address and that the
// virtio-rng behind the bridge answered the guest's MMIO read of its MSI-X
// table with the reset value (entry masked), not all ones.
func checkDecodes(t *testing.T, guest []pci.Entry, console string) {
	t.Helper()
	var rng *pci.Entry
	for i, e := range guest {
		for _, b := range e.BARs {
			if b.Addr == 0 {
				t.Errorf("%s: %v unassigned", e.Addr, b)
			}
		}
		if e.VendorID == 0x1af4 && e.DeviceID == 0x1005 {
			rng = &guest[i]
		}
	}
	if rng == nil {
		return // checkExpected says so
	}
	want := fmt.Sprintf("pcicheck: msix %s BAR1 entry 0 vector control 0x1", rng.Addr)
	if !strings.Contains(console, want) {
		t.Errorf("no %q on the console: the bridge does not forward to the virtio-rng", want)
	}
}

// boot runs image on machine with firmware and returns the guest's table
// and QEMU's view of the same run, from query-pci and from HMP's "info
// pci", and the console.
func boot(t *testing.T, image, machine, firmware string) (guest, qemu []pci.Entry, info []pcitest.InfoPCI, console string) {
	g := vmtest.Start(t, vm.Config{Image: image, Machine: machine, Firmware: firmware, QMP: true, QEMUArgs: extraDevices})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	qemu, info, merr := readMonitor(ctx, g)
	code, err := g.Wait(ctx)
	if err != nil {
		t.Fatalf("%v (monitor: %v)", err, merr)
	}
	console = g.Console.Text()
	t.Logf("%s, accelerator %s", machine, g.Accelerator())
	// isa-debug-exit: pcicheck's status 0 is QEMU's (0<<1)|1.
	if code != 1 {
		t.Errorf("QEMU exit status %d, want 1 (pcicheck status 0)", code)
	}
	if merr != nil {
		t.Fatalf("monitor: %v", merr)
	}
	guest, err = guestTable(console)
	if err != nil {
		t.Fatalf("console: %v", err)
	}
	return guest, qemu, info, console
}

// readMonitor waits on the QMP socket until the guest has written
// protocol.Ready to CONFIG_ADDRESS, which it does after printing its table,
// queries QEMU's view of the PCI hierarchy, then lets the guest exit by
// writing protocol.Go there. On failure it ends QEMU, rather than leaving
// the guest to wait out its timeout.
func readMonitor(ctx context.Context, g *vm.Guest) (qemu []pci.Entry, info []pcitest.InfoPCI, err error) {
	q, err := g.QMP(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			q.Execute("quit", nil, nil)
		}
	}()
	if err := waitReady(ctx, q); err != nil {
		return nil, nil, err
	}

	var buses []qmpPCIBus
	if err := q.Execute("query-pci", nil, &buses); err != nil {
		return nil, nil, err
	}
	if qemu, err = qmpEntries(buses); err != nil {
		return nil, nil, err
	}
	text, err := q.HMP("info pci")
	if err != nil {
		return nil, nil, err
	}
	if info, err = pcitest.ParseInfoPCI(text); err != nil {
		return nil, nil, err
	}
	if out, err := q.HMP(fmt.Sprintf("o /w %#x %#x", pci.CONFIG_ADDRESS, protocol.Go)); err != nil || out != "" {
		return nil, nil, fmt.Errorf("releasing the guest: %q, %v", out, err)
	}
	return qemu, info, nil
}

// waitReady polls CONFIG_ADDRESS through the monitor until it holds
// protocol.Ready. Reading the latch has no side effect, so polling while
// the guest enumerates is harmless.
func waitReady(ctx context.Context, q *qmp.Client) error {
	for {
		out, err := q.HMP(fmt.Sprintf("i /w %#x", pci.CONFIG_ADDRESS))
		if err != nil {
			return err
		}
		// "portl[0x0cf8] = 0x005ead00"
		_, val, _ := strings.Cut(out, "= ")
		v, err := strconv.ParseUint(strings.TrimSpace(val), 0, 32)
		if err != nil {
			return fmt.Errorf("reading CONFIG_ADDRESS: unexpected %q", out)
		}
		if v == protocol.Ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the guest never became ready (CONFIG_ADDRESS %#x)", v)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// checkInfoPCI checks the guest's table against HMP's "info pci" as
// pcitest reads it (no class numbers there), so that parser is exercised
// against live output too.
func checkInfoPCI(t *testing.T, guest []pci.Entry, info []pcitest.InfoPCI) {
	t.Helper()
	if len(info) != len(guest) {
		t.Errorf("info pci lists %d functions, the guest %d", len(info), len(guest))
	}
	for _, i := range info {
		k := slices.IndexFunc(guest, func(e pci.Entry) bool { return e.Addr == i.Entry.Addr })
		if k < 0 {
			t.Errorf("info pci: %s (%s) missing from the guest's table", i.Entry.Addr, i.Class)
			continue
		}
		if err := i.Matches(guest[k]); err != nil {
			t.Errorf("info pci: %v", err)
		}
	}
}

// checkExpected checks that the functions the test put there are present:
// the chipset's host bridge and ISA bridge, exactly two 82540EMs, and a
// PCI-to-PCI bridge with the virtio-rng on its secondary bus.
func checkExpected(t *testing.T, guest []pci.Entry, hostBridge, isaBridge pci.ID) {
	t.Helper()
	count := func(id pci.ID, baseClass, subClass uint8) []pci.Entry {
		var found []pci.Entry
		for _, e := range guest {
			if e.VendorID == id.Vendor && e.DeviceID == id.Device &&
				e.BaseClass == baseClass && e.SubClass == subClass {
				found = append(found, e)
			}
		}
		return found
	}
	want := []struct {
		what      string
		id        pci.ID
		base, sub uint8
		n         int
	}{
		{"host bridge", hostBridge, 0x06, 0x00, 1},
		{"ISA bridge", isaBridge, 0x06, 0x01, 1},
		{"82540EM", pci.ID{Vendor: 0x8086, Device: 0x100e}, 0x02, 0x00, 2},
		{"PCI-to-PCI bridge", pci.ID{Vendor: 0x1b36, Device: 0x0001}, 0x06, 0x04, 1},
		{"virtio-rng", pci.ID{Vendor: 0x1af4, Device: 0x1005}, 0x00, 0xff, 1},
	}
	found := map[string][]pci.Entry{}
	for _, w := range want {
		found[w.what] = count(w.id, w.base, w.sub)
		if len(found[w.what]) != w.n {
			t.Errorf("%d %s (%04x:%04x class %02x%02x) in the table, want %d",
				len(found[w.what]), w.what, w.id.Vendor, w.id.Device, w.base, w.sub, w.n)
		}
	}
	for _, e := range found["82540EM"] {
		if e.InterruptPin != 1 || e.InterruptLine == 0 || e.InterruptLine == 0xFF {
			t.Errorf("%s: e1000 without a routed INTA#: %s", e.Addr, e)
		}
	}
	if br, rng := found["PCI-to-PCI bridge"], found["virtio-rng"]; len(br) == 1 && len(rng) == 1 &&
		(rng[0].Addr.Bus != br[0].SecondaryBus || br[0].Addr.Bus != 0) {
		t.Errorf("virtio-rng at %s is not behind the bridge at %s (bus %02x)",
			rng[0].Addr, br[0].Addr, br[0].SecondaryBus)
	}
}
