package pcitest

import (
	"strings"
	"testing"

	"tamanet/pci"
)

var at = pci.Address{Bus: 2, Device: 3, Function: 4}

func TestAbsentFunction(t *testing.T) {
	s := New()
	if v := s.Read32(0, 0, 0, pci.VENDOR_ID); v != 0xFFFFFFFF {
		t.Errorf("absent function reads %#x", v)
	}
	s.Write32(0, 0, 0, pci.COMMAND, 0x7) // must not create anything
	if s.Function(pci.Address{}) != nil || s.Stats().Reads != 1 || s.Stats().Writes != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestRegisterSemantics(t *testing.T) {
	s := New()
	f := s.Add(at, Header{VendorID: 0x8086, DeviceID: 0x100e, BaseClass: 0x02, RevisionID: 3,
		InterruptLine: 11, InterruptPin: 1})
	f.SetStatusBits(1<<13 | 1<<4)

	s.Write32(2, 3, 4, pci.VENDOR_ID, 0x12345678)
	s.Write32(2, 3, 4, pci.REVISION_ID, 0)
	if f.Peek32(pci.VENDOR_ID) != 0x100e8086 || f.Peek32(pci.REVISION_ID) != 0x02000003 {
		t.Error("read-only ID or class registers changed")
	}
	// All ones to Command/Status: only writable Command bits stick, the
	// set write-one-to-clear Status bit clears, Capabilities List stays.
	s.Write32(2, 3, 4, pci.COMMAND, 0xFFFFFFFF)
	if got := f.Peek32(pci.COMMAND); got != 0x0010_0547 {
		t.Errorf("Command/Status %#x, want 0x00100547", got)
	}
	s.Write32(2, 3, 4, pci.INTERRUPT_LINE, 0xFFFF_FF0A)
	if got := f.Peek32(pci.INTERRUPT_LINE); got != 0x010a {
		t.Errorf("Interrupt Line/Pin %#x, want 0x010a", got)
	}
	// Reads ignore the low offset bits, like the hardware.
	if s.Read32(2, 3, 4, pci.INTERRUPT_PIN) != 0x010a {
		t.Error("unaligned read not aligned down")
	}
}

func TestBARMasks(t *testing.T) {
	for _, tc := range []struct {
		bar        BAR
		lo, hi     uint32 // read back after writing all ones
		firmLo, fh uint32
	}{
		{BAR{Kind: pci.BARMem32, Addr: 0xfeb80000, Size: 0x20000}, 0xfffe0000, 0, 0xfeb80000, 0},
		{BAR{Kind: pci.BARMem32, Prefetchable: true, Addr: 0xfd000000, Size: 0x1000000}, 0xff000008, 0, 0xfd000008, 0},
		{BAR{Kind: pci.BARMem64, Prefetchable: true, Addr: 0x8_0000_0000, Size: 0x2_0000_0000}, 0x0000000c, 0xfffffffe, 0x0000000c, 8},
		{BAR{Kind: pci.BARIO, Addr: 0xc000, Size: 0x40}, 0xffffffc1, 0, 0xc001, 0},
		{BAR{Kind: pci.BARIO, Addr: 0xd060, Size: 0x10, IO16: true}, 0x0000fff1, 0, 0xd061, 0},
	} {
		s := New()
		f := s.Add(at, Header{VendorID: 1}).SetBAR(0, tc.bar)
		if f.Peek32(0x10) != tc.firmLo || (tc.bar.Kind == pci.BARMem64 && f.Peek32(0x14) != tc.fh) {
			t.Errorf("%+v: firmware value %#x %#x", tc.bar, f.Peek32(0x10), f.Peek32(0x14))
		}
		s.Write32(2, 3, 4, 0x10, 0xFFFFFFFF)
		s.Write32(2, 3, 4, 0x14, 0xFFFFFFFF)
		if lo := s.Read32(2, 3, 4, 0x10); lo != tc.lo {
			t.Errorf("%+v: mask %#x, want %#x", tc.bar, lo, tc.lo)
		}
		if tc.bar.Kind == pci.BARMem64 {
			if hi := s.Read32(2, 3, 4, 0x14); hi != tc.hi {
				t.Errorf("%+v: upper mask %#x, want %#x", tc.bar, hi, tc.hi)
			}
		}
	}
}

func TestDecodeViolations(t *testing.T) {
	s := New()
	f := s.Add(at, Header{VendorID: 1, Command: pci.COMMAND_IO_SPACE}).
		SetBAR(0, BAR{Kind: pci.BARMem64, Addr: 0xfe000000, Size: 0x4000}).
		SetBAR(2, BAR{Kind: pci.BARIO, Addr: 0xc000, Size: 0x20})
	f.SetRegister(0x1c, 0xfe100000, 0xfff00000) // no SetBAR: kind from bit 0
	s.Write32(2, 3, 4, 0x10, 0xFFFFFFFF)        // memory, decode off
	s.Write32(2, 3, 4, 0x14, 0xFFFFFFFF)        // upper half, decode off
	s.Write32(2, 3, 4, 0x1c, 0xFFFFFFFF)        // memory, decode off
	s.Write32(2, 3, 4, 0x18, 0xc000|1)          // I/O, decode on, unchanged
	if v := s.Stats().DecodeViolations; v != 0 {
		t.Fatalf("violations %d, want 0", v)
	}
	s.Write32(2, 3, 4, 0x18, 0xFFFFFFFF) // I/O, decode on
	s.Write32(2, 3, 4, pci.COMMAND, pci.COMMAND_MEMORY_SPACE)
	s.Write32(2, 3, 4, 0x14, 0)          // upper half, decode on
	s.Write32(2, 3, 4, 0x1c, 0xFFFFFFFF) // already all ones: unchanged
	if v := s.Stats().DecodeViolations; v != 2 {
		t.Errorf("violations %d, want 2", v)
	}
}

func TestSetBARPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  uint8
		slot int
		bar  BAR
	}{
		{"size not a power of two", pci.HEADER_TYPE_DEVICE, 0, BAR{Kind: pci.BARMem32, Size: 0x3000}},
		{"memory smaller than 16", pci.HEADER_TYPE_DEVICE, 0, BAR{Kind: pci.BARMem32, Size: 8}},
		{"misaligned", pci.HEADER_TYPE_DEVICE, 0, BAR{Kind: pci.BARMem32, Addr: 0x1100, Size: 0x1000}},
		{"64-bit in slot 5", pci.HEADER_TYPE_DEVICE, 5, BAR{Kind: pci.BARMem64, Size: 0x1000}},
		{"bridge slot 2", pci.HEADER_TYPE_BRIDGE, 2, BAR{Kind: pci.BARMem32, Size: 0x1000}},
		{"32-bit above 4GiB", pci.HEADER_TYPE_DEVICE, 0, BAR{Kind: pci.BARMem32, Addr: 1 << 32, Size: 0x1000}},
		{"unknown kind", pci.HEADER_TYPE_DEVICE, 0, BAR{Size: 0x1000}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			New().Add(at, Header{VendorID: 1, HeaderType: tc.hdr}).SetBAR(tc.slot, tc.bar)
		}()
	}
}

func TestPorts(t *testing.T) {
	s := New()
	s.Add(at, Header{VendorID: 0x8086, DeviceID: 0x100e})
	p := NewPorts(s)
	addr := uint32(pci.CONFIG_ADDRESS_ENABLE | 2<<16 | 3<<11 | 4<<8)
	p.Out32(pci.CONFIG_ADDRESS, addr|0x7F000003) // reserved bits read back as zero
	if got := p.In32(pci.CONFIG_ADDRESS); got != addr {
		t.Errorf("CONFIG_ADDRESS reads %#x, want %#x", got, addr)
	}
	if got := p.In32(pci.CONFIG_DATA); got != 0x100e8086 {
		t.Errorf("CONFIG_DATA reads %#x", got)
	}
	if p.Stray != 0 {
		t.Errorf("stray %d", p.Stray)
	}
	p.Out32(pci.CONFIG_ADDRESS, addr&^pci.CONFIG_ADDRESS_ENABLE)
	if got := p.In32(pci.CONFIG_DATA); got != 0xFFFFFFFF || p.Stray != 1 {
		t.Errorf("disabled CONFIG_DATA reads %#x, stray %d", got, p.Stray)
	}
	p.Out32(0x80, 1)
	if p.Stray != 2 || s.Stats().Reads != 1 {
		t.Errorf("stray %d, reads %d", p.Stray, s.Stats().Reads)
	}
}

func TestParseInfoPCI(t *testing.T) {
	info, err := ParseInfoPCI("QEMU 7.2.22 monitor - type 'help' for more information\n" + QEMUPCInfoPCI)
	if err != nil {
		t.Fatal(err)
	}
	if len(info) != 9 {
		t.Fatalf("%d functions, want 9", len(info))
	}
	vga := info[4]
	want := []pci.BAR{{Index: 0, Kind: pci.BARMem32, Prefetchable: true, Addr: 0xfd000000, Size: 0x1000000},
		{Index: 2, Kind: pci.BARMem32, Addr: 0xfeab0000, Size: 0x1000}}
	if vga.Class != "VGA controller" || vga.Entry.VendorID != 0x1234 || len(vga.Entry.BARs) != 2 ||
		vga.Entry.BARs[0] != want[0] || vga.Entry.BARs[1] != want[1] {
		t.Errorf("VGA %+v", vga)
	}
	br := info[7].Entry
	if !br.Bridge || br.SecondaryBus != 1 || br.SubordinateBus != 1 || br.InterruptLine != 10 || br.InterruptPin != 1 {
		t.Errorf("bridge %+v", br)
	}
	if info[8].Class != "Class 0255" || info[8].Subsystem != (pci.ID{Vendor: 0x1af4, Device: 0x0004}) {
		t.Errorf("rng %+v", info[8])
	}

	for _, bad := range []string{
		"  Bus  0, device  40, function 0:\n",
		"  Bus  0, device   3, function 0:\n      BAR0: 16 bit memory at 0x0 [0xf].\n",
		"  Bus  0, device   3, function 0:\n      BAR1: I/O memory at 0xc000 [0xc03f].\n",
		"  Bus  0, device   3, function 0:\n      IRQ 300, pin A\n",
	} {
		if _, err := ParseInfoPCI(bad); err == nil {
			t.Errorf("ParseInfoPCI(%q) accepted", bad)
		}
	}
}

func TestInfoPCIMatches(t *testing.T) {
	info, err := ParseInfoPCI(QEMUPCInfoPCI)
	if err != nil {
		t.Fatal(err)
	}
	e1000 := info[5]
	good := pci.Entry{Addr: pci.Address{Device: 3}, BaseClass: 2, VendorID: 0x8086, DeviceID: 0x100e,
		RevisionID: 3, InterruptLine: 11, InterruptPin: 1,
		BARs: []pci.BAR{{Index: 0, Kind: pci.BARMem32, Addr: 0xfea80000, Size: 0x20000},
			{Index: 1, Kind: pci.BARIO, Addr: 0xd000, Size: 0x40}}}
	if err := e1000.Matches(good); err != nil {
		t.Errorf("good entry: %v", err)
	}
	for name, mutate := range map[string]func(e *pci.Entry){
		"irq":      func(e *pci.Entry) { e.InterruptLine = 10 },
		"id":       func(e *pci.Entry) { e.DeviceID = 0x10d3 },
		"bar size": func(e *pci.Entry) { e.BARs[0].Size = 0x10000 },
		"bar kind": func(e *pci.Entry) { e.BARs[1].Kind = pci.BARMem32 },
		"bridge":   func(e *pci.Entry) { e.Bridge = true },
	} {
		e := good
		e.BARs = append([]pci.BAR(nil), good.BARs...)
		mutate(&e)
		if err := e1000.Matches(e); err == nil {
			t.Errorf("%s: mismatch not detected", name)
		}
	}

	// A BAR QEMU shows unmapped matches on kind and size alone.
	unmapped, err := ParseInfoPCI(strings.Replace(QEMUPCInfoPCI,
		"BAR0: 32 bit memory at 0xfea80000 [0xfea9ffff].", "BAR0: 32 bit memory at 0xffffffffffffffff [0x0001fffe].", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := unmapped[5].Matches(good); err != nil {
		t.Errorf("unmapped BAR: %v", err)
	}
}
