package pci_test

import (
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

// statusErrors are write-one-to-clear Status bits a device has set:
// received master abort and detected parity error.
const statusErrors = 1<<13 | 1<<15

func TestCommandHelpers(t *testing.T) {
	s, f := oneFunction(pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e})
	f.SetStatusBits(statusErrors)
	d := enumerate(t, s).Devices[0]

	for _, step := range []struct {
		name string
		do   func()
		want uint16
	}{
		{"EnableMemory", d.EnableMemory, pci.COMMAND_MEMORY_SPACE},
		{"EnableIO", d.EnableIO, pci.COMMAND_MEMORY_SPACE | pci.COMMAND_IO_SPACE},
		{"EnableBusMaster", d.EnableBusMaster, pci.COMMAND_MEMORY_SPACE | pci.COMMAND_IO_SPACE | pci.COMMAND_BUS_MASTER},
		{"DisableINTx", d.DisableINTx, pci.COMMAND_MEMORY_SPACE | pci.COMMAND_IO_SPACE | pci.COMMAND_BUS_MASTER | pci.COMMAND_INTX_DISABLE},
		{"EnableINTx", d.EnableINTx, pci.COMMAND_MEMORY_SPACE | pci.COMMAND_IO_SPACE | pci.COMMAND_BUS_MASTER},
	} {
		step.do()
		if got := d.Command(); got != step.want {
			t.Errorf("after %s: Command %#x, want %#x", step.name, got, step.want)
		}
		// The Status bits the device recorded must survive.
		if got := d.Status(); got&statusErrors != statusErrors {
			t.Errorf("after %s: Status %#x lost error bits %#x", step.name, got, statusErrors)
		}
	}

	// Why the helpers avoid Write16: read-modify-write of the dword
	// writes the set Status bits back as ones, which clears them.
	d.Write16(pci.COMMAND, d.Command())
	if got := d.Status(); got&statusErrors != 0 {
		t.Errorf("Write16 on Command left Status %#x; the fake's write-one-to-clear is not modelled", got)
	}
}

func TestGSI(t *testing.T) {
	for _, tc := range []struct {
		line, pin uint8
		gsi       uint32
		ok        bool
		name      string
	}{
		{11, 1, 11, true, "A"},
		{10, 4, 10, true, "D"},
		{0, 2, 0, true, "B"}, // IRQ 0 is a value firmware may write; not ours to judge
		{0xFF, 1, 0, false, "A"},
		{11, 0, 0, false, ""},
		{11, 5, 0, false, "5"},
	} {
		d := &pci.Device{InterruptLine: tc.line, InterruptPin: tc.pin}
		gsi, ok := d.GSI()
		if gsi != tc.gsi || ok != tc.ok {
			t.Errorf("line %d pin %d: GSI %d, %v; want %d, %v", tc.line, tc.pin, gsi, ok, tc.gsi, tc.ok)
		}
		if got := d.PinName(); got != tc.name {
			t.Errorf("pin %d: name %q, want %q", tc.pin, got, tc.name)
		}
	}
}

func TestGSIFromFirmware(t *testing.T) {
	b := enumerate(t, pcitest.QEMUPC())
	want := map[pci.Address]uint32{
		{Device: 1, Function: 3}: 9,
		{Device: 3}:              11,
		{Device: 4}:              11,
		{Device: 5}:              10,
		{Bus: 1}:                 10,
	}
	for _, d := range b.Devices {
		gsi, ok := d.GSI()
		w, has := want[d.Addr]
		if ok != has || gsi != w {
			t.Errorf("%s: GSI %d, %v; want %d, %v", d.Addr, gsi, ok, w, has)
		}
	}
}

func TestAddressString(t *testing.T) {
	if got := (pci.Address{Bus: 0x1a, Device: 0x1f, Function: 7}).String(); got != "1a:1f.7" {
		t.Errorf("got %q", got)
	}
}
