package pci_test

import (
	"errors"
	"slices"
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

// decodeOn is the Command register of a function firmware has enabled.
const decodeOn = pci.COMMAND_IO_SPACE | pci.COMMAND_MEMORY_SPACE | pci.COMMAND_BUS_MASTER

// oneFunction returns a space holding one function at 00:01.0 and that
// function.
func oneFunction(h pcitest.Header) (*pcitest.Space, *pcitest.Function) {
	s := pcitest.New()
	return s, s.Add(pci.Address{Device: 1}, h)
}

func TestBARSizing(t *testing.T) {
	for _, tc := range []struct {
		name string
		bar  pcitest.BAR
		slot int
	}{
		{"mem32", pcitest.BAR{Kind: pci.BARMem32, Addr: 0xfeb80000, Size: 0x20000}, 0},
		{"mem32 smallest", pcitest.BAR{Kind: pci.BARMem32, Addr: 0xfeb00010, Size: 0x10}, 1},
		{"mem32 2GiB", pcitest.BAR{Kind: pci.BARMem32, Addr: 0x80000000, Size: 0x80000000}, 2},
		{"mem32 prefetchable", pcitest.BAR{Kind: pci.BARMem32, Prefetchable: true, Addr: 0xfd000000, Size: 0x1000000}, 0},
		{"mem64 below 4GiB", pcitest.BAR{Kind: pci.BARMem64, Addr: 0xfeab2000, Size: 0x100}, 0},
		{"mem64 prefetchable above 4GiB", pcitest.BAR{Kind: pci.BARMem64, Prefetchable: true, Addr: 0x8_0000_0000, Size: 0x2_0000_0000}, 4},
		{"mem64 exactly 4GiB", pcitest.BAR{Kind: pci.BARMem64, Prefetchable: true, Addr: 0x1_0000_0000, Size: 0x1_0000_0000}, 2},
		{"mem64 unassigned", pcitest.BAR{Kind: pci.BARMem64, Size: 0x4000}, 4},
		{"io 32-bit decoder", pcitest.BAR{Kind: pci.BARIO, Addr: 0xc000, Size: 0x40}, 1},
		{"io 16-bit decoder", pcitest.BAR{Kind: pci.BARIO, Addr: 0xd060, Size: 0x10, IO16: true}, 5},
		{"io smallest", pcitest.BAR{Kind: pci.BARIO, Addr: 0x1f4, Size: 0x4}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := oneFunction(pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e, Command: decodeOn})
			f.SetBAR(tc.slot, tc.bar)
			before := [7]uint32{f.Peek32(pci.COMMAND)}
			for i := range 6 {
				before[i+1] = f.Peek32(uint8(pci.BASE_ADDRESS_0 + 4*i))
			}

			b := enumerate(t, s)
			want := []pci.BAR{{Index: uint8(tc.slot), Kind: tc.bar.Kind, Prefetchable: tc.bar.Prefetchable,
				Addr: tc.bar.Addr, Size: tc.bar.Size}}
			if got := b.Devices[0].BARs; !slices.Equal(got, want) {
				t.Errorf("BARs %v, want %v", got, want)
			}
			after := [7]uint32{f.Peek32(pci.COMMAND)}
			for i := range 6 {
				after[i+1] = f.Peek32(uint8(pci.BASE_ADDRESS_0 + 4*i))
			}
			if after != before {
				t.Errorf("Command and BARs %#x after sizing, firmware left %#x", after, before)
			}
			if v := s.Stats().DecodeViolations; v != 0 {
				t.Errorf("%d BAR writes with decoding on", v)
			}
		})
	}
}

// TestDecodeViolationsCounted shows the fake catches what sizing avoids:
// rewriting a BAR while the function decodes it.
func TestDecodeViolationsCounted(t *testing.T) {
	s, f := oneFunction(pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e, Command: decodeOn})
	f.SetBAR(0, pcitest.BAR{Kind: pci.BARMem32, Addr: 0xfeb80000, Size: 0x20000})
	s.Write32(0, 1, 0, pci.BASE_ADDRESS_0, 0xFFFFFFFF)
	if s.Stats().DecodeViolations != 1 {
		t.Errorf("violations %d, want 1", s.Stats().DecodeViolations)
	}
	if got := f.Peek32(pci.BASE_ADDRESS_0); got != 0xfffe0000 {
		t.Errorf("all ones read back as %#x, want the size mask 0xfffe0000", got)
	}
}

// TestBARSizingHostBridgeKeepsDecoding: a host bridge's memory decode is
// never switched off, and the BAR is still sized and restored.
func TestBARSizingHostBridgeKeepsDecoding(t *testing.T) {
	s, f := oneFunction(pcitest.Header{VendorID: 0x8086, DeviceID: 0x29c0, BaseClass: pci.ClassBridge,
		SubClass: pci.SubclassHostBridge, Command: pci.COMMAND_MEMORY_SPACE})
	f.SetBAR(0, pcitest.BAR{Kind: pci.BARMem32, Addr: 0xe0000000, Size: 0x10000000})
	b := enumerate(t, s)
	if got := b.Devices[0].BARs; len(got) != 1 || got[0].Size != 0x10000000 {
		t.Errorf("BARs %v", got)
	}
	// Writing all ones and restoring, both with decoding on.
	if v := s.Stats().DecodeViolations; v != 2 {
		t.Errorf("violations %d, want 2: the host bridge's decode was switched off", v)
	}
	if f.Peek32(pci.BASE_ADDRESS_0) != 0xe0000000 {
		t.Error("BAR not restored")
	}
}

func TestBridgeBARs(t *testing.T) {
	s := pcitest.New()
	s.Add(pci.Address{Device: 1}, pcitest.Header{VendorID: 0x1b36, DeviceID: 0x0001,
		BaseClass: pci.ClassBridge, SubClass: pci.SubclassPCIBridge,
		HeaderType: pci.HEADER_TYPE_BRIDGE, Command: decodeOn}).
		SetBAR(0, pcitest.BAR{Kind: pci.BARMem32, Addr: 0xfeab2000, Size: 0x100}).
		SetBAR(1, pcitest.BAR{Kind: pci.BARIO, Addr: 0xc100, Size: 0x8}).
		SetBuses(0, 1, 1)
	b := enumerate(t, s)
	want := []pci.BAR{{Index: 0, Kind: pci.BARMem32, Addr: 0xfeab2000, Size: 0x100},
		{Index: 1, Kind: pci.BARIO, Addr: 0xc100, Size: 0x8}}
	if got := b.Devices[0].BARs; !slices.Equal(got, want) {
		t.Errorf("BARs %v, want %v", got, want)
	}
	// 0x18 holds the bus numbers, not a third BAR.
	if d := b.Devices[0]; d.PrimaryBus != 0 || d.SecondaryBus != 1 || d.SubordinateBus != 1 {
		t.Errorf("bus numbers %d %d %d", d.PrimaryBus, d.SecondaryBus, d.SubordinateBus)
	}
}

func TestBadBARs(t *testing.T) {
	for _, tc := range []struct {
		name          string
		slot          int
		val, writable uint32
		want          error
		kept          []pci.BAR
	}{
		{"64-bit in the last register", 5, 0xfe000004, 0xffffc000, pci.ErrBARType, nil},
		{"reserved memory type", 0, 0xfe000006, 0xffffc000, pci.ErrBARType, nil},
		{"below-1MiB type kept as 32-bit", 0, 0x000d0002, 0xffff0000, pci.ErrBARType,
			[]pci.BAR{{Index: 0, Kind: pci.BARMem32, Addr: 0xd0000, Size: 0x10000}}},
		{"no writable address bits", 0, 0x00000001, 0, pci.ErrBARMask, nil},
		{"non-contiguous mask", 0, 0xfe000000, 0xff0f0000, pci.ErrBARMask, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := oneFunction(pcitest.Header{VendorID: 0x1234, DeviceID: 0x5678, Command: decodeOn})
			off := uint8(pci.BASE_ADDRESS_0 + 4*tc.slot)
			f.SetRegister(off, tc.val, tc.writable)
			// A good BAR elsewhere must survive the bad one.
			good := pci.BAR{Index: 2, Kind: pci.BARMem32, Addr: 0xfea00000, Size: 0x1000}
			if tc.slot == 2 {
				t.Fatal("test uses slot 2 for the good BAR")
			}
			f.SetBAR(2, pcitest.BAR{Kind: good.Kind, Addr: good.Addr, Size: good.Size})

			b, err := pci.Enumerate(s, &pci.Registry{})
			if !errors.Is(err, tc.want) || !errors.Is(b.Devices[0].Err, tc.want) {
				t.Errorf("err %v, device err %v, want %v", err, b.Devices[0].Err, tc.want)
			}
			want := append(tc.kept, good)
			slices.SortFunc(want, func(x, y pci.BAR) int { return int(x.Index) - int(y.Index) })
			if got := b.Devices[0].BARs; !slices.Equal(got, want) {
				t.Errorf("BARs %v, want %v", got, want)
			}
			if b.Stats.BadFunctions != 1 {
				t.Errorf("BadFunctions %d, want 1", b.Stats.BadFunctions)
			}
			if f.Peek32(off) != tc.val || f.Peek32(pci.COMMAND)&0xFFFF != decodeOn {
				t.Errorf("bad BAR %#x or Command %#x not restored", f.Peek32(off), f.Peek32(pci.COMMAND))
			}
		})
	}
}

func TestBARString(t *testing.T) {
	for _, tc := range []struct {
		b    pci.BAR
		want string
	}{
		{pci.BAR{Index: 0, Kind: pci.BARMem32, Addr: 0xfebc0000, Size: 0x20000}, "BAR0 mem32 0xfebc0000 [size 0x20000]"},
		{pci.BAR{Index: 1, Kind: pci.BARIO, Addr: 0xc000, Size: 0x40}, "BAR1 io 0xc000 [size 0x40]"},
		{pci.BAR{Index: 4, Kind: pci.BARMem64, Prefetchable: true, Addr: 0x800000000, Size: 0x4000}, "BAR4 mem64 pref 0x800000000 [size 0x4000]"},
		{pci.BAR{Index: 2, Kind: pci.BARMem32}, "BAR2 mem32 0x0 [size 0x0]"},
	} {
		if got := tc.b.String(); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.b, got, tc.want)
		}
	}
}
