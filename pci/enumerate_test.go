package pci_test

import (
	"errors"
	"slices"
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

// qemuPCTable is the table for pcitest.QEMUPC, written from the QEMU "info
// pci" transcript: every size here must be recovered from the BAR masks.
const qemuPCTable = `00:00.0 0600: 8086:1237 rev 02
00:01.0 0601: 8086:7000 rev 00
00:01.1 0101: 8086:7010 rev 00  progif 80  BAR4 io 0xd060 [size 0x10]
00:01.3 0680: 8086:7113 rev 03  irq 9 pin A
00:02.0 0300: 1234:1111 rev 02  BAR0 mem32 pref 0xfd000000 [size 0x1000000]  BAR2 mem32 0xfeab0000 [size 0x1000]
00:03.0 0200: 8086:100e rev 03  irq 11 pin A  BAR0 mem32 0xfea80000 [size 0x20000]  BAR1 io 0xd000 [size 0x40]
00:04.0 0200: 1af4:1000 rev 00  irq 11 pin A  BAR0 io 0xd040 [size 0x20]  BAR1 mem32 0xfeab1000 [size 0x1000]  BAR4 mem64 pref 0xfe200000 [size 0x4000]  caps 11@98 09@84 09@70 09@60 09@50 09@40
00:05.0 0604: 1b36:0001 rev 00  irq 10 pin A  BAR0 mem64 0xfeab2000 [size 0x100]  bus 01-01  caps 05@4c 04@48 0c@40
01:00.0 00ff: 1af4:1005 rev 00  irq 10 pin A  BAR0 io 0xc000 [size 0x20]  BAR1 mem32 0xfe800000 [size 0x1000]  BAR4 mem64 pref 0xfe000000 [size 0x4000]  caps 11@98 09@84 09@70 09@60 09@50 09@40
`

func enumerate(t *testing.T, cs pci.ConfigSpace) *pci.Bus {
	t.Helper()
	b, err := pci.Enumerate(cs, &pci.Registry{})
	if err != nil {
		t.Fatalf("Enumerate: %v", err)
	}
	return b
}

func TestEnumerateQEMUPC(t *testing.T) {
	s := pcitest.QEMUPC()
	b := enumerate(t, s)
	if got := b.String(); got != qemuPCTable {
		t.Errorf("table:\n%s\nwant:\n%s", got, qemuPCTable)
	}
	want := pci.Stats{Buses: 2, Functions: 9, Bridges: 1}
	if b.Stats != want {
		t.Errorf("stats %+v, want %+v", b.Stats, want)
	}
	if v := s.Stats().DecodeViolations; v != 0 {
		t.Errorf("%d BAR writes while decoding was on", v)
	}
	t.Logf("%d configuration reads, %d writes", s.Stats().Reads, s.Stats().Writes)

	e1000 := b.Devices[5]
	if e1000.Addr != (pci.Address{Bus: 0, Device: 3}) || e1000.SubsystemVendorID != 0x1af4 || e1000.SubsystemID != 0x1100 {
		t.Errorf("e1000 record %+v", e1000)
	}
	behind := b.Devices[8]
	if behind.Parent != b.Devices[7] || b.Devices[7].Parent != nil {
		t.Errorf("01:00.0 parent %v, want the bridge 00:05.0", behind.Parent)
	}
}

// TestEnumerateAgreesWithInfoPCI checks the enumeration of the fake against
// what QEMU itself reported for the machine the fake models.
func TestEnumerateAgreesWithInfoPCI(t *testing.T) {
	info, err := pcitest.ParseInfoPCI(pcitest.QEMUPCInfoPCI)
	if err != nil {
		t.Fatal(err)
	}
	b := enumerate(t, pcitest.QEMUPC())
	if len(info) != len(b.Devices) {
		t.Fatalf("info pci lists %d functions, enumeration found %d", len(info), len(b.Devices))
	}
	for i, d := range b.Devices {
		if err := info[i].Matches(d.Entry()); err != nil {
			t.Error(err)
		}
		if ss := (pci.ID{Vendor: d.SubsystemVendorID, Device: d.SubsystemID}); ss != info[i].Subsystem {
			t.Errorf("%s: subsystem %v, info pci has %v", d.Addr, ss, info[i].Subsystem)
		}
	}
}

// snapshot returns every dword of every function in addrs.
func snapshot(s *pcitest.Space, addrs []pci.Address) [][64]uint32 {
	out := make([][64]uint32, len(addrs))
	for i, a := range addrs {
		for r := range 64 {
			out[i][r] = s.Function(a).Peek32(uint8(4 * r))
		}
	}
	return out
}

// TestEnumerateRestoresConfigSpace checks that sizing leaves every BAR and
// Command register exactly as firmware programmed it.
func TestEnumerateRestoresConfigSpace(t *testing.T) {
	s := pcitest.QEMUPC()
	b := enumerate(t, s)
	var addrs []pci.Address
	for _, d := range b.Devices {
		addrs = append(addrs, d.Addr)
	}
	before := snapshot(pcitest.QEMUPC(), addrs)
	after := snapshot(s, addrs)
	for i := range addrs {
		for r := range 64 {
			if before[i][r] != after[i][r] {
				t.Errorf("%s reg %#04x: %#010x after enumeration, firmware left %#010x",
					addrs[i], 4*r, after[i][r], before[i][r])
			}
		}
	}
	if s.Stats().Writes == 0 {
		t.Error("no configuration writes: the BARs were not sized")
	}
}

func TestEnumerateThroughMechanism1(t *testing.T) {
	s := pcitest.QEMUPC()
	ports := pcitest.NewPorts(s)
	b := enumerate(t, pci.NewMechanism1(ports))
	if got := b.String(); got != qemuPCTable {
		t.Errorf("table through 0xCF8/0xCFC:\n%s\nwant:\n%s", got, qemuPCTable)
	}
	if ports.Stray != 0 {
		t.Errorf("%d stray port accesses", ports.Stray)
	}
}

func TestEnumerateFunctions(t *testing.T) {
	s := pcitest.New()
	// A multi-function device with a hole at function 1.
	s.Add(pci.Address{Device: 1, Function: 0}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x7000, MultiFunction: true})
	s.Add(pci.Address{Device: 1, Function: 2}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x7020})
	s.Add(pci.Address{Device: 1, Function: 7}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x7027})
	// A single-function device that answers on function 1 as well: only
	// function 0 counts.
	s.Add(pci.Address{Device: 2, Function: 0}, pcitest.Header{VendorID: 0x1234, DeviceID: 0x0002})
	s.Add(pci.Address{Device: 2, Function: 1}, pcitest.Header{VendorID: 0x1234, DeviceID: 0x0002})
	// Functions without function 0 do not make a device.
	s.Add(pci.Address{Device: 3, Function: 1}, pcitest.Header{VendorID: 0x1234, DeviceID: 0x0003})
	// Vendor 0 is never assigned: treated as absent.
	s.Add(pci.Address{Device: 4, Function: 0}, pcitest.Header{VendorID: 0x0000, DeviceID: 0x0004})
	// The last device number.
	s.Add(pci.Address{Device: 31, Function: 0}, pcitest.Header{VendorID: 0x1234, DeviceID: 0x001f})

	b := enumerate(t, s)
	var got []pci.Address
	for _, d := range b.Devices {
		got = append(got, d.Addr)
	}
	want := []pci.Address{{Device: 1}, {Device: 1, Function: 2}, {Device: 1, Function: 7}, {Device: 2}, {Device: 31}}
	if !slices.Equal(got, want) {
		t.Errorf("found %v, want %v", got, want)
	}
	if !b.Devices[0].MultiFunction || b.Devices[3].MultiFunction {
		t.Error("multi-function bit not recorded")
	}
}

// bridge adds a PCI-to-PCI bridge at a leading to secondary..subordinate.
func bridge(s *pcitest.Space, a pci.Address, secondary, subordinate uint8) {
	s.Add(a, pcitest.Header{VendorID: 0x1b36, DeviceID: 0x0001, BaseClass: pci.ClassBridge,
		SubClass: pci.SubclassPCIBridge, HeaderType: pci.HEADER_TYPE_BRIDGE}).
		SetBuses(a.Bus, secondary, subordinate)
}

func TestEnumerateBridges(t *testing.T) {
	s := pcitest.New()
	bridge(s, pci.Address{Bus: 0, Device: 1}, 1, 3)
	bridge(s, pci.Address{Bus: 1, Device: 0}, 2, 2)
	s.Add(pci.Address{Bus: 2, Device: 5}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e})
	bridge(s, pci.Address{Bus: 1, Device: 1}, 1, 1) // points back at its own bus
	bridge(s, pci.Address{Bus: 2, Device: 0}, 0, 0) // never configured
	bridge(s, pci.Address{Bus: 0, Device: 2}, 2, 2) // claims bus 2, already reached through 00:01.0
	// No bridge leads to bus 9.
	s.Add(pci.Address{Bus: 9, Device: 0}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e})

	b, err := pci.Enumerate(s, &pci.Registry{})
	if !errors.Is(err, pci.ErrBusLoop) {
		t.Errorf("err = %v, want ErrBusLoop", err)
	}
	want := pci.Stats{Buses: 3, Functions: 6, Bridges: 5, UnconfiguredBridges: 1, BusLoops: 2}
	if b.Stats != want {
		t.Errorf("stats %+v, want %+v", b.Stats, want)
	}
	var leaf *pci.Device
	for _, d := range b.Devices {
		if d.Addr == (pci.Address{Bus: 2, Device: 5}) {
			leaf = d
		}
		if d.Addr.Bus == 9 {
			t.Error("found a function on a bus no bridge leads to")
		}
	}
	if leaf == nil || leaf.Parent == nil || leaf.Parent.Addr != (pci.Address{Bus: 1}) ||
		leaf.Parent.Parent == nil || leaf.Parent.Parent.Addr != (pci.Address{Device: 1}) {
		t.Errorf("02:05.0 not found behind 01:00.0 behind 00:01.0: %v", leaf)
	}
}

func TestEnumerateUnknownHeaderType(t *testing.T) {
	s := pcitest.New()
	s.Add(pci.Address{Device: 1}, pcitest.Header{VendorID: 0x1234, DeviceID: 0x5678, HeaderType: 0x05})
	b, err := pci.Enumerate(s, &pci.Registry{})
	if !errors.Is(err, pci.ErrHeaderType) || len(b.Devices) != 1 || b.Stats.BadFunctions != 1 {
		t.Errorf("err %v, %d devices, stats %+v", err, len(b.Devices), b.Stats)
	}
	if s.Stats().Writes != 0 {
		t.Error("wrote to a function whose header layout is unknown")
	}
}

// BenchmarkEnumerateQEMUPC reports the configuration accesses a boot
// costs: under QEMU each one is an exit to the VMM.
func BenchmarkEnumerateQEMUPC(b *testing.B) {
	s := pcitest.QEMUPC()
	for b.Loop() {
		if _, err := pci.Enumerate(s, &pci.Registry{}); err != nil {
			b.Fatal(err)
		}
	}
	st := s.Stats()
	b.ReportMetric(float64(st.Reads)/float64(b.N), "reads/op")
	b.ReportMetric(float64(st.Writes)/float64(b.N), "writes/op")
}
