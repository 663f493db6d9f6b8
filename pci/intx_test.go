package pci_test

import (
	"errors"
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

// qemuIRQs are the ISA interrupts the board offers RouteINTx.
var qemuIRQs = []uint8{10, 11, 5}

// routes returns every function's INTx, by address, failing on an error.
func routes(t *testing.T, b *pci.Bus) map[pci.Address]string {
	t.Helper()
	got := map[pci.Address]string{}
	for _, d := range b.Devices {
		if d.InterruptPin == 0 {
			continue
		}
		x, err := d.INTx()
		if err != nil {
			t.Fatalf("%s: INTx: %v", d.Addr, err)
		}
		got[d.Addr] = x.String()
	}
	return got
}

// pcRoutes is where QEMU's PIIX3 sends each pin of the QEMUPC machine:
// its PIRQ (pin + slot - 1, after the bridge swizzle) and the IRQ the
// firmware routed that PIRQ to. The power management function's INTA# is
// the SCI, not a PIRQ: its Interrupt Line stands.
func pcRoutes(pmLine string) map[pci.Address]string {
	return map[pci.Address]string{
		{Device: 1, Function: 3}: "INTA Interrupt Line " + pmLine,
		{Device: 3}:              "INTA PIIX3 PIRQC -> IRQ 11",
		{Device: 4}:              "INTA PIIX3 PIRQD -> IRQ 11",
		{Device: 5}:              "INTA PIIX3 PIRQA -> IRQ 10",
		{Bus: 1}:                 "INTA PIIX3 PIRQA -> IRQ 10",
	}
}

// device returns the function at a.
func device(t *testing.T, b *pci.Bus, a pci.Address) *pci.Device {
	t.Helper()
	for _, d := range b.Devices {
		if d.Addr == a {
			return d
		}
	}
	t.Fatalf("no function at %s", a)
	return nil
}

func checkRoutes(t *testing.T, got, want map[pci.Address]string) {
	t.Helper()
	for a, w := range want {
		if got[a] != w {
			t.Errorf("%s: %q, want %q", a, got[a], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d routes, want %d: %v", len(got), len(want), got)
	}
}

// TestINTxAgreesWithSeaBIOS: SeaBIOS's Interrupt Lines, measured in QEMU
// (QEMUPCInfoPCI), are where the PIIX3 wiring puts every pin, so there is
// nothing for RouteINTx to repair.
func TestINTxAgreesWithSeaBIOS(t *testing.T) {
	b := enumerate(t, pcitest.QEMUPC())
	checkRoutes(t, routes(t, b), pcRoutes("9"))
	if err := b.RouteINTx(qemuIRQs); err != nil {
		t.Fatal(err)
	}
	if b.Stats.InterruptLinesFixed != 0 || b.Stats.PIRQsRouted != 0 {
		t.Errorf("stats %+v: SeaBIOS's table needed repairs", b.Stats)
	}
}

// TestINTxRepairsQboot: qboot's Interrupt Line for the virtio-net in slot
// 4 names IRQ 10; the route is IRQ 11 before and after, and RouteINTx
// rewrites that line (and only it) to match SeaBIOS's table.
func TestINTxRepairsQboot(t *testing.T) {
	s := pcitest.QEMUPCQboot()
	b := enumerate(t, s)
	if d := device(t, b, pci.Address{Device: 4}); d.InterruptLine != 10 {
		t.Fatalf("%s line %d: want qboot's 10", d.Addr, d.InterruptLine)
	}
	checkRoutes(t, routes(t, b), pcRoutes("10"))
	if err := b.RouteINTx(qemuIRQs); err != nil {
		t.Fatal(err)
	}
	checkRoutes(t, routes(t, b), pcRoutes("10"))
	if b.Stats.InterruptLinesFixed != 1 || b.Stats.PIRQsRouted != 0 {
		t.Errorf("stats %+v: want one line fixed", b.Stats)
	}
	seabios := enumerate(t, pcitest.QEMUPC())
	again := enumerate(t, s) // the registers, not the snapshot
	for i, d := range again.Devices {
		if d.Addr == (pci.Address{Device: 1, Function: 3}) {
			continue
		}
		if w := seabios.Devices[i].InterruptLine; d.InterruptLine != w || b.Devices[i].InterruptLine != w {
			t.Errorf("%s: line %d (snapshot %d), SeaBIOS wrote %d", d.Addr, d.InterruptLine, b.Devices[i].InterruptLine, w)
		}
	}
}

// TestINTxProgramsDisabledPIRQ: a PIRQ firmware left unrouted is an error
// until RouteINTx routes it to the offered IRQ fewest PIRQs use.
func TestINTxProgramsDisabledPIRQ(t *testing.T) {
	s := pcitest.QEMUPCQboot()
	// PIRQC and PIRQD disabled: the e1000's and the virtio-net's.
	s.Function(pci.Address{Device: 1}).SetRegister(pci.PIRQA_ROUT, 0x80800a0a, pcitest.PIRQRoutesWritable)
	b := enumerate(t, s)
	d := device(t, b, pci.Address{Device: 4})
	if _, err := d.INTx(); !errors.Is(err, pci.ErrPIRQDisabled) {
		t.Fatalf("%s: INTx error %v, want ErrPIRQDisabled", d.Addr, err)
	}
	if err := b.RouteINTx(qemuIRQs); err != nil {
		t.Fatal(err)
	}
	// PIRQC (the e1000, first) takes 11, which no PIRQ used; then PIRQD
	// takes 5, with 10 used twice and 11 once.
	want := pcRoutes("10")
	want[pci.Address{Device: 4}] = "INTA PIIX3 PIRQD -> IRQ 5"
	checkRoutes(t, routes(t, b), want)
	if got := s.Function(pci.Address{Device: 1}).Peek32(pci.PIRQA_ROUT); got != 0x050b0a0a {
		t.Errorf("route registers %#08x, want 0x050b0a0a", got)
	}
	if b.Stats.PIRQsRouted != 2 || d.InterruptLine != 5 {
		t.Errorf("stats %+v, line %d: want 2 PIRQs routed, line 5", b.Stats, d.InterruptLine)
	}

	s.Function(pci.Address{Device: 1}).SetRegister(pci.PIRQA_ROUT, 0x80800a0a, pcitest.PIRQRoutesWritable)
	b = enumerate(t, s)
	if err := b.RouteINTx(nil); !errors.Is(err, pci.ErrPIRQDisabled) {
		t.Errorf("RouteINTx without IRQs: %v, want ErrPIRQDisabled", err)
	}
}

// TestINTxSwizzle: behind a bridge, a pin shifts by the device number at
// each level before the root slot's wiring applies.
func TestINTxSwizzle(t *testing.T) {
	s := pcitest.QEMUPC()
	s.Add(pci.Address{Bus: 1, Device: 2}, pcitest.Header{VendorID: 0x1af4, DeviceID: 0x1005, InterruptPin: 2, InterruptLine: 0xFF})
	b := enumerate(t, s)
	// INTB# of device 2 is INTD# at the bridge in slot 5, which is
	// PIRQ (3 + 5 - 1) & 3.
	if x, err := device(t, b, pci.Address{Bus: 1, Device: 2}).INTx(); err != nil || x.String() != "INTB PIIX3 PIRQD -> IRQ 11" {
		t.Errorf("01:02.0: %v, %v", x, err)
	}
}

// q35 builds a q35 machine as SeaBIOS leaves its PIRQs (A-D and E-H to
// 10, 10, 11, 11), with Interrupt Lines 0xFF: the MCH, the ICH9 LPC at
// 1f.0, devices in slots 2, 3 (INTB#) and 6, and a root port in slot 7
// with a device behind it.
func q35() *pcitest.Space {
	s := pcitest.New()
	s.Add(pci.Address{}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x29c0, BaseClass: 0x06})
	lpc := s.Add(pci.Address{Device: 31}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x2918, BaseClass: 0x06, SubClass: 0x01, MultiFunction: true})
	lpc.SetRegister(pci.PIRQA_ROUT, pcitest.FirmwarePIRQRoutes, pcitest.PIRQRoutesWritable)
	lpc.SetRegister(pci.PIRQE_ROUT, pcitest.FirmwarePIRQRoutes, pcitest.PIRQRoutesWritable)
	s.Add(pci.Address{Device: 31, Function: 2}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x2922, InterruptPin: 1, InterruptLine: 0xFF})
	for _, dev := range []struct{ slot, pin uint8 }{{2, 1}, {3, 2}, {6, 1}} {
		s.Add(pci.Address{Device: dev.slot}, pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e, InterruptPin: dev.pin, InterruptLine: 0xFF})
	}
	s.Add(pci.Address{Device: 7}, pcitest.Header{VendorID: 0x1b36, DeviceID: 0x000c, BaseClass: 0x06, SubClass: 0x04,
		HeaderType: pci.HEADER_TYPE_BRIDGE, InterruptPin: 1, InterruptLine: 0xFF}).SetBuses(0, 1, 1)
	s.Add(pci.Address{Bus: 1}, pcitest.Header{VendorID: 0x1af4, DeviceID: 0x1041, InterruptPin: 1, InterruptLine: 0xFF})
	return s
}

// TestINTxQ35: ICH9 wires PIRQA-H to I/O APIC inputs 16-23, slots 0-24
// rotating over PIRQE-H and the chipset's slot 31 on PIRQA-D; RouteINTx
// fills in each Interrupt Line with its PIRQ's ISA route.
func TestINTxQ35(t *testing.T) {
	b := enumerate(t, q35())
	want := map[pci.Address]string{
		{Device: 2}:               "INTA ICH9 PIRQG -> GSI 22",
		{Device: 3}:               "INTB ICH9 PIRQE -> GSI 20",
		{Device: 6}:               "INTA ICH9 PIRQG -> GSI 22",
		{Device: 7}:               "INTA ICH9 PIRQH -> GSI 23",
		{Bus: 1}:                  "INTA ICH9 PIRQH -> GSI 23",
		{Device: 31, Function: 2}: "INTA ICH9 PIRQA -> GSI 16",
	}
	checkRoutes(t, routes(t, b), want)
	if err := b.RouteINTx(qemuIRQs); err != nil {
		t.Fatal(err)
	}
	lines := map[pci.Address]uint8{{Device: 2}: 11, {Device: 3}: 10, {Device: 6}: 11, {Device: 7}: 11, {Bus: 1}: 11, {Device: 31, Function: 2}: 10}
	for _, d := range b.Devices {
		if w, ok := lines[d.Addr]; ok && d.InterruptLine != w {
			t.Errorf("%s: line %d, want %d", d.Addr, d.InterruptLine, w)
		}
	}
	if b.Stats.InterruptLinesFixed != len(lines) {
		t.Errorf("stats %+v: want %d lines fixed", b.Stats, len(lines))
	}
}

// TestINTxWithoutRouter: a function Enumerate did not find, or a chipset
// without a known router, falls back on the Interrupt Line.
func TestINTxWithoutRouter(t *testing.T) {
	for _, tc := range []struct {
		line, pin uint8
		want      string
		err       error
	}{
		{11, 1, "INTA Interrupt Line 11", nil},
		{10, 4, "INTD Interrupt Line 10", nil},
		{0xFF, 1, "", pci.ErrNoINTx},
		{11, 0, "", pci.ErrNoINTx},
		{11, 5, "", pci.ErrNoINTx},
	} {
		d := &pci.Device{InterruptLine: tc.line, InterruptPin: tc.pin}
		x, err := d.INTx()
		if !errors.Is(err, tc.err) || (err == nil && x.String() != tc.want) {
			t.Errorf("line %d pin %d: %v, %v; want %q, %v", tc.line, tc.pin, x, err, tc.want, tc.err)
		}
	}
	s, _ := oneFunction(pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e, InterruptPin: 1, InterruptLine: 11})
	b := enumerate(t, s)
	if err := b.RouteINTx(qemuIRQs); err != nil || b.Stats.InterruptLinesFixed != 0 {
		t.Errorf("RouteINTx without a router: %v, %+v", err, b.Stats)
	}
	checkRoutes(t, routes(t, b), map[pci.Address]string{{Device: 1}: "INTA Interrupt Line 11"})
}
