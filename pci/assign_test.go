package pci_test

import (
	"errors"
	"fmt"
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

// qemuWindows are the windows the board offers on QEMU -M pc with 1 GiB:
// from the end of RAM to the I/O APIC, and I/O above the legacy ports.
var qemuWindows = pci.Windows{
	Mem: pci.Range{Start: 0x40000000, End: 0xfec00000},
	IO:  pci.Range{Start: 0x1000, End: 0x10000},
}

// region is one decoded range, for overlap checks.
type region struct {
	what string
	r    pci.Range
	io   bool
}

// prefWindow reads a bridge's prefetchable window (below 4 GiB).
func prefWindow(f *pcitest.Function) (pci.Range, bool) {
	v := f.Peek32(pci.PREF_MEMORY_BASE)
	base, limit := uint64(v&0xFFF0)<<16, uint64(v>>16&0xFFF0)<<16|0xFFFFF
	return pci.Range{Start: base, End: limit + 1}, base <= limit
}

// bridgeWindow reads a bridge's window of one kind from its registers.
func bridgeWindow(f *pcitest.Function, io bool) (pci.Range, bool) {
	if io {
		v := f.Peek32(pci.IO_BASE)
		base, limit := uint64(v&0xF0)<<8, uint64(v>>8&0xF0)<<8|0xFFF
		return pci.Range{Start: base, End: limit + 1}, base <= limit
	}
	v := f.Peek32(pci.MEMORY_BASE)
	base, limit := uint64(v&0xFFF0)<<16, uint64(v>>16&0xFFF0)<<16|0xFFFFF
	return pci.Range{Start: base, End: limit + 1}, base <= limit
}

// checkLayout checks what the configuration space now decodes: every BAR
// assigned, aligned to its size and inside its parent's window (the root
// window on bus 0; a bridge's prefetchable window also holds prefetchable
// BARs), no two ranges on one bus overlapping, bridges' windows open and
// forwarding, and decoding on where there are BARs. With assigned, the
// bridges' prefetchable windows must be closed, as Assign leaves them.
func checkLayout(t *testing.T, s *pcitest.Space, w pci.Windows, assigned bool) {
	t.Helper()
	bus, err := pci.Enumerate(s, nil)
	if err != nil {
		t.Fatalf("enumerate after Assign: %v", err)
	}
	parentWindow := func(d *pci.Device, io, pref bool, r pci.Range) pci.Range {
		if d.Parent == nil {
			if io {
				return w.IO
			}
			return w.Mem
		}
		f := s.Function(d.Parent.Addr)
		if p, ok := prefWindow(f); pref && ok && p.Start <= r.Start && r.End <= p.End {
			return p
		}
		win, ok := bridgeWindow(f, io)
		if !ok {
			t.Errorf("%s: behind %s, whose window is closed", d.Addr, d.Parent.Addr)
		}
		return win
	}
	byBus := map[uint8][]region{}
	for _, d := range bus.Devices {
		cmd := d.Command()
		for _, b := range d.BARs {
			io := b.Kind == pci.BARIO
			r := pci.Range{Start: b.Addr, End: b.Addr + b.Size}
			win := parentWindow(d, io, b.Prefetchable, r)
			switch {
			case b.Addr == 0:
				t.Errorf("%s %v unassigned", d.Addr, b)
			case b.Addr%b.Size != 0:
				t.Errorf("%s %v not aligned to its size", d.Addr, b)
			case r.Start < win.Start || r.End > win.End:
				t.Errorf("%s %v outside its window %v", d.Addr, b, win)
			}
			want := uint16(pci.COMMAND_MEMORY_SPACE)
			if io {
				want = pci.COMMAND_IO_SPACE
			}
			if cmd&want == 0 {
				t.Errorf("%s %v: Command %#x does not decode it", d.Addr, b, cmd)
			}
			byBus[d.Addr.Bus] = append(byBus[d.Addr.Bus], region{fmt.Sprintf("%s %v", d.Addr, b), r, io})
		}
		if !d.IsBridge() {
			continue
		}
		if want := uint16(pci.COMMAND_MEMORY_SPACE | pci.COMMAND_IO_SPACE | pci.COMMAND_BUS_MASTER); cmd&want != want {
			t.Errorf("bridge %s: Command %#x does not forward", d.Addr, cmd)
		}
		for _, io := range []bool{false, true} {
			if r, ok := bridgeWindow(s.Function(d.Addr), io); ok {
				if win := parentWindow(d, io, false, r); r.Start < win.Start || r.End > win.End {
					t.Errorf("bridge %s window %v outside %v", d.Addr, r, win)
				}
				byBus[d.Addr.Bus] = append(byBus[d.Addr.Bus], region{fmt.Sprintf("bridge %s window", d.Addr), r, io})
			}
		}
		if p, ok := prefWindow(s.Function(d.Addr)); ok {
			if assigned {
				t.Errorf("bridge %s: prefetchable window %v open", d.Addr, p)
			}
			byBus[d.Addr.Bus] = append(byBus[d.Addr.Bus], region{fmt.Sprintf("bridge %s prefetchable window", d.Addr), p, false})
		}
	}
	for busNo, rs := range byBus {
		for i := range rs {
			for j := i + 1; j < len(rs); j++ {
				if rs[i].io == rs[j].io && rs[i].r.Start < rs[j].r.End && rs[j].r.Start < rs[i].r.End {
					t.Errorf("bus %d: %s %v overlaps %s %v", busNo, rs[i].what, rs[i].r, rs[j].what, rs[j].r)
				}
			}
		}
	}
	if v := s.Stats().DecodeViolations; v != 0 {
		t.Errorf("%d BAR writes while decoding was on", v)
	}
}

// QEMU's qboot leaves every BAR unassigned and the bridge closed: Assign
// lays out the whole machine, the device behind the bridge included.
func TestAssignQboot(t *testing.T) {
	s := pcitest.QEMUPCQboot()
	bus, err := pci.Enumerate(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Assign(qemuWindows); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, s, qemuWindows, true)
	t.Logf("layout:\n%s", bus)
	// 5 functions with BARs on bus 0, the one behind the bridge.
	if st := bus.Stats; st.Assigned != 6 || st.BridgeWindows != 1 {
		t.Errorf("Assigned %d, BridgeWindows %d; want 6 and 1", st.Assigned, st.BridgeWindows)
	}
	// The records match the registers.
	again, _ := pci.Enumerate(s, nil)
	for i, d := range bus.Devices {
		for j, b := range d.BARs {
			if got := again.Devices[i].BARs[j]; got != b {
				t.Errorf("%s: Device.BARs says %v, the register %v", d.Addr, b, got)
			}
		}
	}
	// Top-down from the end of the window, largest first: the VGA
	// framebuffer's 16 MiB lands just below the I/O APIC's region.
	if vga := bus.Devices[4]; vga.BARs[0].Addr != 0xfe000000-0x1000000 && vga.BARs[0].Addr != 0xfe000000 {
		t.Errorf("VGA framebuffer at %#x", vga.BARs[0].Addr)
	}
	// Nothing is left to do the second time.
	writes := s.Stats().Writes
	if err := again.Assign(qemuWindows); err != nil || s.Stats().Writes != writes || again.Stats.Assigned != 0 {
		t.Errorf("second Assign: %v, %d writes, %d assigned", err, s.Stats().Writes-writes, again.Stats.Assigned)
	}
}

// After SeaBIOS everything is assigned: Assign writes nothing.
func TestAssignLeavesFirmwareAlone(t *testing.T) {
	s := pcitest.QEMUPC()
	bus, err := pci.Enumerate(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	writes := s.Stats().Writes
	if err := bus.Assign(qemuWindows); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Writes - writes; n != 0 || bus.Stats.Assigned != 0 {
		t.Errorf("%d configuration writes, %d functions assigned; want none", n, bus.Stats.Assigned)
	}
	checkLayout(t, s, qemuWindows, false)
}

// A function firmware missed gets room beside what firmware placed, which
// stays where it is.
func TestAssignAroundFirmware(t *testing.T) {
	s := pcitest.QEMUPC()
	missed := pci.Address{Bus: 0, Device: 9, Function: 0}
	s.Add(missed, pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e, BaseClass: 0x02}).
		SetBAR(0, pcitest.BAR{Kind: pci.BARMem32, Size: 0x20000}).
		SetBAR(1, pcitest.BAR{Kind: pci.BARIO, Size: 0x40})
	// A window that ends right above SeaBIOS's BARs.
	w := pci.Windows{Mem: pci.Range{Start: 0xfc000000, End: 0xfec00000}, IO: pci.Range{Start: 0xc000, End: 0xe000}}
	bus, err := pci.Enumerate(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := map[pci.Address][]pci.BAR{}
	for _, d := range bus.Devices {
		before[d.Addr] = append([]pci.BAR(nil), d.BARs...)
	}
	if err := bus.Assign(w); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, s, w, false)
	for _, d := range bus.Devices {
		if d.Addr == missed {
			if bus.Stats.Assigned != 1 {
				t.Errorf("%d functions assigned, want 1", bus.Stats.Assigned)
			}
			continue
		}
		for i, b := range d.BARs {
			if b != before[d.Addr][i] {
				t.Errorf("%s: firmware's %v moved to %v", d.Addr, before[d.Addr][i], b)
			}
		}
	}
}

// What does not fit is reported, named, and the rest is still assigned.
func TestAssignNoRoom(t *testing.T) {
	s := pcitest.QEMUPCQboot()
	bus, err := pci.Enumerate(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Room for everything but the 16 MiB framebuffer.
	w := qemuWindows
	w.Mem = pci.Range{Start: 0xfe000000, End: 0xfec00000}
	err = bus.Assign(w)
	if !errors.Is(err, pci.ErrNoSpace) {
		t.Fatalf("Assign: %v, want ErrNoSpace", err)
	}
	t.Log(err)
	for _, d := range bus.Devices {
		for _, b := range d.BARs {
			if big := b.Size == 0x1000000; big != (b.Addr == 0) {
				t.Errorf("%s %v: only the framebuffer should be left out", d.Addr, b)
			}
		}
	}
}

// I/O ports the chipset decodes itself, which no I/O BAR or bridge I/O
// window may cover: QEMU's ACPI hotplug block, the PIIX4 PM and SMBus
// blocks where SeaBIOS puts them, and the legacy first 4 KiB (the ICH9 PM
// block at 0x600 among them).
var chipsetPorts = []pci.Range{
	{Start: 0x0000, End: 0x1000},
	{Start: 0xae00, End: 0xb000},
	{Start: 0xb000, End: 0xb040},
	{Start: 0xb100, End: 0xb110},
}

// An I/O window whose top ends just above the PIIX4 PM block: packed top
// down, the bridge's 4 KiB window would land on QEMU's hotplug ports and a
// 64-port BAR on the PM block. Assign puts them below instead.
func TestAssignAvoidsChipsetPorts(t *testing.T) {
	s := pcitest.QEMUPCQboot()
	bus, err := pci.Enumerate(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := qemuWindows
	w.IO = pci.Range{Start: 0x1000, End: 0xb040}
	if err := bus.Assign(w); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, s, w, true)
	t.Logf("layout:\n%s", bus)
	var placed []region
	for _, d := range bus.Devices {
		for _, b := range d.BARs {
			if b.Kind == pci.BARIO {
				placed = append(placed, region{fmt.Sprintf("%s %v", d.Addr, b), pci.Range{Start: b.Addr, End: b.Addr + b.Size}, true})
			}
		}
		if d.IsBridge() {
			if r, ok := bridgeWindow(s.Function(d.Addr), true); ok {
				placed = append(placed, region{fmt.Sprintf("bridge %s I/O window", d.Addr), r, true})
			}
		}
	}
	if len(placed) < 3 {
		t.Fatalf("only %d I/O ranges placed", len(placed))
	}
	for _, p := range placed {
		for _, c := range chipsetPorts {
			if p.r.Start < c.End && c.Start < p.r.End {
				t.Errorf("%s %v overlaps the chipset's ports %v", p.what, p.r, c)
			}
		}
	}
}
