package pci_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

// msiDevice returns a function with an MSI capability at 0x50 and its
// enumerated record.
func msiDevice(t *testing.T, o pcitest.MSIOptions) (*pcitest.Function, *pci.Device) {
	t.Helper()
	s, f := oneFunction(pcitest.Header{VendorID: 0x1234, DeviceID: 0x11e8, Command: pci.COMMAND_MEMORY_SPACE})
	f.SetCapabilityPointer(0x50).SetMSI(0x50, 0, o)
	return f, enumerate(t, s).Devices[0]
}

func TestMSIEnable(t *testing.T) {
	for _, tc := range []struct {
		name         string
		o            pcitest.MSIOptions
		addrHi, data uint8 // registers expected to hold the message
	}{
		{"32-bit", pcitest.MSIOptions{}, 0, 0x58},
		{"64-bit", pcitest.MSIOptions{Is64: true}, 0x58, 0x5c},
		{"64-bit multiple message capable", pcitest.MSIOptions{Is64: true, Log2Vectors: 3}, 0x58, 0x5c},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, d := msiDevice(t, tc.o)
			m, err := d.MSI()
			if err != nil {
				t.Fatal(err)
			}
			if m.Is64 != tc.o.Is64 || m.Capable != 1<<tc.o.Log2Vectors || m.PerVectorMask {
				t.Errorf("capability %+v, from %+v", m, tc.o)
			}
			// A multiple-message grant left by someone else is cleared.
			d.Write16(0x52, d.Read16(0x52)|pci.MSI_CTRL_MME)
			if err := m.Enable(0xfee00000, 0x41); err != nil {
				t.Fatal(err)
			}
			ctl := f.Peek32(0x50) >> 16
			if ctl&pci.MSI_CTRL_ENABLE == 0 || ctl&pci.MSI_CTRL_MME != 0 || !m.Enabled() {
				t.Errorf("control %#x: want enabled, one vector", ctl)
			}
			if got := f.Peek32(0x54); got != 0xfee00000 {
				t.Errorf("address %#x", got)
			}
			if tc.addrHi != 0 && f.Peek32(tc.addrHi) != 0 {
				t.Errorf("upper address %#x", f.Peek32(tc.addrHi))
			}
			if got := f.Peek32(tc.data) & 0xffff; got != 0x41 {
				t.Errorf("data %#x", got)
			}
			cmd := d.Command()
			if cmd&pci.COMMAND_INTX_DISABLE == 0 || cmd&pci.COMMAND_BUS_MASTER == 0 || cmd&pci.COMMAND_MEMORY_SPACE == 0 {
				t.Errorf("command %#x: want INTx disabled, bus master, memory kept", cmd)
			}
			m.Disable()
			if m.Enabled() || d.Command()&pci.COMMAND_INTX_DISABLE != 0 {
				t.Errorf("after Disable: enabled %v, command %#x", m.Enabled(), d.Command())
			}
		})
	}
}

func TestMSIBadMessage(t *testing.T) {
	_, d := msiDevice(t, pcitest.MSIOptions{})
	m, err := d.MSI()
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []struct {
		addr uint64
		data uint32
	}{{1 << 32, 0x41}, {0xfee00000, 0x10000}} {
		if err := m.Enable(msg.addr, msg.data); !errors.Is(err, pci.ErrMSIMessage) {
			t.Errorf("Enable(%#x, %#x): %v, want ErrMSIMessage", msg.addr, msg.data, err)
		}
	}
	if m.Enabled() {
		t.Error("a refused message enabled MSI")
	}
	if err := m.Mask(); !errors.Is(err, pci.ErrNoMSI) {
		t.Errorf("Mask without per-vector masking: %v", err)
	}
}

func TestMSIPerVectorMask(t *testing.T) {
	for _, is64 := range []bool{false, true} {
		f, d := msiDevice(t, pcitest.MSIOptions{Is64: is64, PerVectorMask: true})
		m, err := d.MSI()
		if err != nil {
			t.Fatal(err)
		}
		maskReg := uint8(0x5c)
		if is64 {
			maskReg = 0x60
		}
		if err := m.Mask(); err != nil || f.Peek32(maskReg) != 1 {
			t.Errorf("64-bit %v: Mask: %v, mask bits %#x", is64, err, f.Peek32(maskReg))
		}
		// The function records a held-back message.
		f.SetRegister(maskReg+4, 1, 0)
		if p, err := m.Pending(); !p || err != nil {
			t.Errorf("64-bit %v: Pending %v, %v", is64, p, err)
		}
		if err := m.Unmask(); err != nil || f.Peek32(maskReg) != 0 {
			t.Errorf("64-bit %v: Unmask: %v, mask bits %#x", is64, err, f.Peek32(maskReg))
		}
	}
}

func TestNoMSI(t *testing.T) {
	s, _ := oneFunction(pcitest.Header{VendorID: 0x1234, DeviceID: 0x5678})
	d := enumerate(t, s).Devices[0]
	if _, err := d.MSI(); !errors.Is(err, pci.ErrNoMSI) {
		t.Errorf("MSI: %v", err)
	}
	if _, err := d.MSIXInfo(); !errors.Is(err, pci.ErrNoMSI) {
		t.Errorf("MSIXInfo: %v", err)
	}
}

// msixDevice is a function with a 5-entry MSI-X table at 0x0 and PBA at
// 0x2000 of memory BAR 3 (QEMU's e1000e layout), its record and the table
// model.
func msixDevice(t *testing.T) (*pcitest.Function, *pci.Device, *pcitest.MSIXTable) {
	t.Helper()
	s, f := oneFunction(pcitest.Header{VendorID: 0x8086, DeviceID: 0x10d3})
	f.SetBAR(0, pcitest.BAR{Kind: pci.BARMem32, Addr: 0xfeb80000, Size: 0x20000}).
		SetBAR(2, pcitest.BAR{Kind: pci.BARIO, Addr: 0xc000, Size: 0x20}).
		SetBAR(3, pcitest.BAR{Kind: pci.BARMem32, Addr: 0xfeba0000, Size: 0x4000}).
		SetCapabilityPointer(0xa0).SetMSIX(0xa0, 0, 5, 3, 0, 3, 0x2000)
	return f, enumerate(t, s).Devices[0], pcitest.NewMSIXTable(s, pci.Address{Device: 1}, 0xa0)
}

func TestMSIXInfo(t *testing.T) {
	_, d, _ := msixDevice(t)
	info, err := d.MSIXInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Capability != 0xa0 || info.TableSize != 5 || info.Table.BAR.Index != 3 || info.Table.Offset != 0 ||
		info.PBA.BAR.Index != 3 || info.PBA.Offset != 0x2000 {
		t.Errorf("info %+v", info)
	}
}

func TestMSIXBadTable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tableBIR   uint8
		tableOff   uint32
		pbaBIR     uint8
		pbaOff     uint32
		size       int
		wantSubstr string
	}{
		{"table past its BAR", 3, 0x3ff8, 3, 0x2000, 5, "table"},
		{"PBA past its BAR", 3, 0, 3, 0x4000, 5, "PBA"},
		{"full table does not fit", 3, 0, 3, 0x2000, 2048, "table"},
		{"BIR names an I/O BAR", 2, 0, 3, 0x2000, 5, "I/O BAR"},
		{"BIR names no BAR", 1, 0, 3, 0x2000, 5, "no implemented BAR"},
		{"reserved BIR", 7, 0, 3, 0x2000, 5, "no implemented BAR"},
		{"unassigned BAR", 4, 0, 3, 0x2000, 5, "no address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := oneFunction(pcitest.Header{VendorID: 0x8086, DeviceID: 0x10d3})
			f.SetBAR(2, pcitest.BAR{Kind: pci.BARIO, Addr: 0xc000, Size: 0x20}).
				SetBAR(3, pcitest.BAR{Kind: pci.BARMem32, Addr: 0xfeba0000, Size: 0x4000}).
				SetBAR(4, pcitest.BAR{Kind: pci.BARMem64, Size: 0x4000}).
				SetCapabilityPointer(0xa0).SetMSIX(0xa0, 0, tc.size, tc.tableBIR, tc.tableOff, tc.pbaBIR, tc.pbaOff)
			d := enumerate(t, s).Devices[0]
			_, err := d.MSIXInfo()
			if !errors.Is(err, pci.ErrMSIXTable) || !strings.Contains(fmt.Sprint(err), tc.wantSubstr) {
				t.Errorf("MSIXInfo: %v; want ErrMSIXTable mentioning %q", err, tc.wantSubstr)
			}
			mapped := false
			if _, err := d.MSIX(func(pci.BAR) (pci.Registers, error) { mapped = true; return nil, nil }); err == nil || mapped {
				t.Errorf("MSIX: %v, mapped %v", err, mapped)
			}
		})
	}
}

// TestMSIX programs two entries, raises them, and checks that a masked
// entry holds its message back as pending until unmasked.
func TestMSIX(t *testing.T) {
	f, d, table := msixDevice(t)
	var mapped []pci.BAR
	x, err := d.MSIX(func(b pci.BAR) (pci.Registers, error) { mapped = append(mapped, b); return table, nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(mapped) != 1 || mapped[0].Index != 3 {
		t.Fatalf("mapped %v, want BAR3 once", mapped)
	}
	// Before Enable the function signals through INTx#.
	table.Raise(0)
	if s := table.Sent(); len(s) != 0 {
		t.Fatalf("sent %v before Enable", s)
	}
	x.Enable()
	ctl := f.Peek32(0xa0) >> 16
	if ctl&pci.MSIX_CTRL_ENABLE == 0 || ctl&pci.MSIX_CTRL_FUNCTION_MASK != 0 || !x.Enabled() {
		t.Errorf("control %#x after Enable", ctl)
	}
	if cmd := d.Command(); cmd&pci.COMMAND_INTX_DISABLE == 0 || cmd&pci.COMMAND_BUS_MASTER == 0 || cmd&pci.COMMAND_MEMORY_SPACE == 0 {
		t.Errorf("command %#x after Enable", cmd)
	}
	// Entries are masked until set and unmasked.
	table.Raise(1)
	if s := table.Sent(); len(s) != 0 {
		t.Fatalf("a masked entry sent %v", s)
	}
	if p, _ := x.Pending(1); !p {
		t.Error("entry 1 not pending")
	}
	if err := x.Set(1, 0xfee00000, 0x31); err != nil {
		t.Fatal(err)
	}
	if err := x.Set(4, 0x1_fee0_1000, 0x32); err != nil {
		t.Fatal(err)
	}
	if err := x.Unmask(1); err != nil {
		t.Fatal(err)
	}
	// Unmasking delivers what was pending, with the message set since.
	want := []pcitest.Message{{Entry: 1, Addr: 0xfee00000, Data: 0x31}}
	if s := table.Sent(); !slices.Equal(s, want) {
		t.Errorf("sent %v, want %v", s, want)
	}
	if p, _ := x.Pending(1); p {
		t.Error("entry 1 still pending after delivery")
	}
	if err := x.Unmask(4); err != nil {
		t.Fatal(err)
	}
	table.Raise(4)
	table.Raise(1)
	want = []pcitest.Message{{Entry: 4, Addr: 0x1_fee0_1000, Data: 0x32}, {Entry: 1, Addr: 0xfee00000, Data: 0x31}}
	if s := table.Sent(); !slices.Equal(s, want) {
		t.Errorf("sent %v, want %v", s, want)
	}
	if err := x.Mask(4); err != nil {
		t.Fatal(err)
	}
	if m, _ := x.Masked(4); !m {
		t.Error("entry 4 not masked")
	}
	table.Raise(4)
	if s := table.Sent(); len(s) != 0 {
		t.Errorf("masked entry 4 sent %v", s)
	}
	if p, _ := x.Pending(4); !p {
		t.Error("entry 4 not pending")
	}
	if err := x.Unmask(4); err != nil {
		t.Fatal(err)
	}
	if s := table.Sent(); len(s) != 1 || s[0].Entry != 4 {
		t.Errorf("sent %v after unmasking entry 4", s)
	}
	for _, e := range []int{-1, 5} {
		if err := x.Set(e, 0xfee00000, 0x30); !errors.Is(err, pci.ErrMSIMessage) {
			t.Errorf("Set(%d): %v", e, err)
		}
		if _, err := x.Pending(e); !errors.Is(err, pci.ErrMSIMessage) {
			t.Errorf("Pending(%d): %v", e, err)
		}
	}
	x.Disable()
	if x.Enabled() || d.Command()&pci.COMMAND_INTX_DISABLE != 0 {
		t.Errorf("after Disable: enabled %v, command %#x", x.Enabled(), d.Command())
	}
	if table.Stray != 0 {
		t.Errorf("%d accesses outside the table and PBA", table.Stray)
	}
}

// TestMSIXSeparatePBA: a PBA in another BAR is mapped separately.
func TestMSIXSeparatePBA(t *testing.T) {
	s, f := oneFunction(pcitest.Header{VendorID: 0x1af4, DeviceID: 0x1041})
	f.SetBAR(1, pcitest.BAR{Kind: pci.BARMem32, Addr: 0xfeb81000, Size: 0x1000}).
		SetBAR(4, pcitest.BAR{Kind: pci.BARMem64, Addr: 0xfe000000, Size: 0x4000}).
		SetCapabilityPointer(0x98).SetMSIX(0x98, 0, 3, 1, 0, 4, 0x800)
	d := enumerate(t, s).Devices[0]
	var mapped []uint8
	if _, err := d.MSIX(func(b pci.BAR) (pci.Registers, error) { mapped = append(mapped, b.Index); return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mapped, []uint8{1, 4}) {
		t.Errorf("mapped BARs %v, want [1 4]", mapped)
	}
}
