package pci_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

// entries returns the table entries of QEMUPC plus lines exercising every
// segment.
func entries(t *testing.T) []pci.Entry {
	var es []pci.Entry
	for _, d := range enumerate(t, pcitest.QEMUPC()).Devices {
		es = append(es, d.Entry())
	}
	return append(es,
		pci.Entry{Addr: pci.Address{Bus: 0xff, Device: 31, Function: 7}, BaseClass: 0x01, SubClass: 0x08,
			ProgIF: 0x02, VendorID: 0x1b36, DeviceID: 0x0010, RevisionID: 0x02,
			InterruptLine: 0xFF, InterruptPin: 4,
			BARs: []pci.BAR{{Index: 0, Kind: pci.BARMem64, Prefetchable: true, Addr: 0x8_0000_0000, Size: 0x2_0000_0000},
				{Index: 5, Kind: pci.BARMem32}},
			Driver: "nvme"},
		pci.Entry{Addr: pci.Address{Device: 1}, InterruptLine: 11, InterruptPin: 7},
		pci.Entry{Addr: pci.Address{Device: 0x1e}, BaseClass: 0x06, SubClass: 0x04, Bridge: true,
			Capabilities: []pci.Capability{{ID: 0x10, Offset: 0x40}}},
	)
}

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range entries(t) {
		line := e.String()
		got, err := pci.ParseEntry(line)
		if err != nil {
			t.Errorf("ParseEntry(%q): %v", line, err)
			continue
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("ParseEntry(%q) = %+v, want %+v", line, got, e)
		}
	}
}

func TestEntryString(t *testing.T) {
	e := entries(t)[9]
	want := "ff:1f.7 0108: 1b36:0010 rev 02  progif 02  irq none pin D  " +
		"BAR0 mem64 pref 0x800000000 [size 0x200000000]  BAR5 mem32 0x0 [size 0x0]  driver nvme"
	if got := e.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// A pin with no line printed: the Entry of a device without a pin has
	// no interrupt fields, whatever the Interrupt Line register holds.
	d := &pci.Device{InterruptLine: 11}
	if e := d.Entry(); e.InterruptLine != 0 || strings.Contains(d.String(), "irq") {
		t.Errorf("device without a pin: %q", d.String())
	}
}

func TestParseEntryRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"00:03.0 0200: 8086:100e",         // no revision
		"00:03.0 0200: 8086:100E rev 03",  // upper case
		"00:03.0 0200: 8086:100e rev 03 ", // trailing space
		"00:03.0 0200: 8086:100e rev 03  irq 11 pin A ",               // trailing space in a segment
		"00:03.0 0200: 8086:100e rev 03   irq 11 pin A",               // three spaces
		"00:03.0 0200: 8086:100e rev 03  irq 11 pin E",                // pin out of range, not numeric
		"00:03.0 0200: 8086:100e rev 03  irq 11 pin 0",                // "no pin" is not printed
		"00:03.0 0200: 8086:100e rev 03  irq 256 pin A",               // line out of range
		"00:03.0 0200: 8086:100e rev 03  progif 00",                   // zero prog-if is not printed
		"00:03.0 0200: 8086:100e rev 03  BAR0 mem16 0x0 [size 0x10]",  // unknown kind
		"00:03.0 0200: 8086:100e rev 03  BAR0 io pref 0x0 [size 0x4]", // prefetchable I/O
		"00:03.0 0200: 8086:100e rev 03  BAR0 mem32 0xfeb80000 [size 0x20000",
		"00:03.0 0200: 8086:100e rev 03  BAR0 mem32 feb80000 [size 0x20000]",
		"00:03.0 0200: 8086:100e rev 03  BAR0 mem32 0xfeb80000 [size 0x20000]x",
		"00:03.0 0200: 8086:100e rev 03  BAR6 mem32 0xfeb80000 [size 0x20000]",
		"00:03.0 0200: 8086:100e rev 03  caps 10@4",
		"00:03.0 0200: 8086:100e rev 03  driver e1000  irq 11 pin A", // out of order
		"00:03.0 0200: 8086:100e rev 03  driver",
		"00:03.0 0200: 8086:100e rev 03  colour blue",
		"00:03.0 0200: 8086:100e rev 03\n",
		"00:20.0 0200: 8086:100e rev 03", // device 32
	} {
		if e, err := pci.ParseEntry(line); !errors.Is(err, pci.ErrSyntax) {
			t.Errorf("ParseEntry(%q) = %+v, %v; want ErrSyntax", line, e, err)
		}
	}
}

// FuzzParseEntry: whatever ParseEntry accepts, String prints back
// unchanged, so the table is a faithful text form.
func FuzzParseEntry(f *testing.F) {
	for _, line := range strings.Split(strings.TrimSuffix(qemuPCTable, "\n"), "\n") {
		f.Add(line)
	}
	f.Add("ff:1f.7 0108: 1b36:0010 rev 02  progif 02  irq none pin D  BAR0 mem64 pref 0x800000000 [size 0x200000000]  driver nvme")
	f.Fuzz(func(t *testing.T, line string) {
		e, err := pci.ParseEntry(line)
		if err != nil {
			return
		}
		if got := e.String(); got != line {
			t.Errorf("ParseEntry(%q) then String = %q", line, got)
		}
	})
}

// FuzzEntryRoundTrip: every entry a device can produce prints as a line
// that parses back to the same entry.
func FuzzEntryRoundTrip(f *testing.F) {
	f.Add(uint8(0), uint8(3), uint8(0), uint32(0x020000), uint32(0x100e8086), uint8(3),
		uint8(11), uint8(1), uint8(0), uint8(2), false, uint64(0xfeb80000), uint8(17), uint16(0x4005), "e1000", false)
	f.Add(uint8(1), uint8(0), uint8(7), uint32(0x060400), uint32(0x00011b36), uint8(0),
		uint8(0xff), uint8(4), uint8(4), uint8(3), true, uint64(0x8_0000_0000), uint8(33), uint16(0x9811), "", true)
	f.Fuzz(func(t *testing.T, bus, dev, fn uint8, class, id uint32, rev, line, pin, barIdx, kind uint8,
		pref bool, addr uint64, sizeLog uint8, capability uint16, driver string, bridge bool) {
		e := pci.Entry{
			Addr:      pci.Address{Bus: bus, Device: dev % 32, Function: fn % 8},
			BaseClass: uint8(class >> 16), SubClass: uint8(class >> 8), ProgIF: uint8(class),
			VendorID: uint16(id), DeviceID: uint16(id >> 16), RevisionID: rev,
			Driver: driver,
		}
		if pin != 0 {
			e.InterruptLine, e.InterruptPin = line, pin
		}
		b := pci.BAR{Index: barIdx % 6, Kind: pci.BARKind(kind%3 + 1), Addr: addr, Size: 1 << (sizeLog % 64)}
		b.Prefetchable = pref && b.Kind != pci.BARIO
		e.BARs = []pci.BAR{b}
		if bridge {
			e.Bridge, e.SecondaryBus, e.SubordinateBus = true, bus+1, bus+2
		}
		if capability != 0 {
			e.Capabilities = []pci.Capability{{ID: uint8(capability), Offset: uint8(capability >> 8)}}
		}
		// Register refuses such names, so no Entry carries one.
		if strings.ContainsFunc(driver, unicode.IsSpace) || !utf8.ValidString(driver) {
			return
		}
		got, err := pci.ParseEntry(e.String())
		if err != nil {
			t.Fatalf("ParseEntry(%q): %v", e.String(), err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("ParseEntry(%q) = %+v, want %+v", e.String(), got, e)
		}
	})
}
