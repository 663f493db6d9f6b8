package pci

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Entry is what one table line says about a function. Device.Entry makes
// one, ParseEntry reads one back, and String formats one.
//
// A line is segments separated by two spaces. The first is always there,
// the others only when they apply, in this order:
//
//	00:03.0 0200: 8086:100e rev 03         address, base class and sub-class, vendor:device, revision
//	progif 80                              programming interface, when not 0
//	irq 11 pin A                           Interrupt Line ("none" for 0xFF) and pin, when there is a pin
//	BAR0 mem32 0xfebc0000 [size 0x20000]   one per BAR; kind io, mem32 or mem64, then "pref" if prefetchable
//	bus 01-02                              bridges: secondary and subordinate bus
//	caps 01@dc 05@e4                       capability ID@offset, in list order
//	driver e1000                           the driver Probe bound
//
// Numbers are hexadecimal except the IRQ, which is decimal as in QEMU's
// "info pci".
type Entry struct {
	Addr                        Address
	BaseClass, SubClass, ProgIF uint8
	VendorID, DeviceID          uint16
	RevisionID                  uint8
	// InterruptLine is 0xFF for "none"; both interrupt fields are 0 when
	// InterruptPin is 0, as the line is not printed then.
	InterruptLine, InterruptPin  uint8
	BARs                         []BAR
	Bridge                       bool
	SecondaryBus, SubordinateBus uint8
	Capabilities                 []Capability
	Driver                       string
}

// ErrSyntax is a line ParseEntry cannot read, or one that is not exactly
// what String would print for what it says.
var ErrSyntax = errors.New("pci: bad table line")

// Entry returns what d's table line says.
func (d *Device) Entry() Entry {
	e := Entry{
		Addr: d.Addr, BaseClass: d.BaseClass, SubClass: d.SubClass, ProgIF: d.ProgIF,
		VendorID: d.VendorID, DeviceID: d.DeviceID, RevisionID: d.RevisionID,
		BARs: d.BARs, Bridge: d.IsBridge(), Capabilities: d.Capabilities, Driver: d.Driver,
	}
	if d.InterruptPin != 0 {
		e.InterruptLine, e.InterruptPin = d.InterruptLine, d.InterruptPin
	}
	if e.Bridge {
		e.SecondaryBus, e.SubordinateBus = d.SecondaryBus, d.SubordinateBus
	}
	return e
}

// String formats d's table line.
func (d *Device) String() string {
	return d.Entry().String()
}

// String formats the table line, without a newline.
func (e Entry) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %02x%02x: %04x:%04x rev %02x", e.Addr, e.BaseClass, e.SubClass,
		e.VendorID, e.DeviceID, e.RevisionID)
	if e.ProgIF != 0 {
		fmt.Fprintf(&sb, "  progif %02x", e.ProgIF)
	}
	if e.InterruptPin != 0 {
		irq := "none"
		if e.InterruptLine != interruptLineUnknown {
			irq = strconv.Itoa(int(e.InterruptLine))
		}
		fmt.Fprintf(&sb, "  irq %s pin %s", irq, pinName(e.InterruptPin))
	}
	for _, b := range e.BARs {
		fmt.Fprintf(&sb, "  %s", b)
	}
	if e.Bridge {
		fmt.Fprintf(&sb, "  bus %02x-%02x", e.SecondaryBus, e.SubordinateBus)
	}
	if len(e.Capabilities) > 0 {
		sb.WriteString("  caps")
		for _, c := range e.Capabilities {
			fmt.Fprintf(&sb, " %s", c)
		}
	}
	if e.Driver != "" {
		fmt.Fprintf(&sb, "  driver %s", e.Driver)
	}
	return sb.String()
}

// String formats the table: one line per function, in address order, each
// ending in a newline.
func (b *Bus) String() string {
	var sb strings.Builder
	for _, d := range b.Devices {
		sb.WriteString(d.String())
		sb.WriteByte('\n')
	}
	return sb.String()
}

// ParseEntry reads one table line (without its newline). It accepts only
// the canonical form String prints, so that two tables compare equal as
// text exactly when they say the same thing.
func ParseEntry(line string) (Entry, error) {
	var e Entry
	segs := strings.Split(line, "  ")
	if _, err := fmt.Sscanf(segs[0], "%2x:%2x.%1x %2x%2x: %4x:%4x rev %2x",
		&e.Addr.Bus, &e.Addr.Device, &e.Addr.Function, &e.BaseClass, &e.SubClass,
		&e.VendorID, &e.DeviceID, &e.RevisionID); err != nil {
		return Entry{}, fmt.Errorf("%q: %v: %w", segs[0], err, ErrSyntax)
	}
	if e.Addr.Device > MaxDevice || e.Addr.Function > MaxFunction {
		return Entry{}, fmt.Errorf("%q: no such device or function: %w", segs[0], ErrSyntax)
	}
	for _, seg := range segs[1:] {
		if err := e.parseSegment(seg); err != nil {
			return Entry{}, fmt.Errorf("%q: %v: %w", seg, err, ErrSyntax)
		}
	}
	if s := e.String(); s != line {
		return Entry{}, fmt.Errorf("%q is not canonical, want %q: %w", line, s, ErrSyntax)
	}
	return e, nil
}

// parseSegment fills in what one optional segment says.
func (e *Entry) parseSegment(seg string) error {
	f := strings.Fields(seg)
	if len(f) < 2 {
		return errors.New("segment too short")
	}
	var err error
	switch {
	case f[0] == "progif" && len(f) == 2:
		e.ProgIF, err = parseUint8(f[1], 16)
	case f[0] == "irq" && len(f) == 4 && f[2] == "pin":
		e.InterruptLine = interruptLineUnknown
		if f[1] != "none" {
			e.InterruptLine, err = parseUint8(f[1], 10)
		}
		if err == nil {
			e.InterruptPin, err = parsePin(f[3])
		}
	case strings.HasPrefix(f[0], "BAR"):
		var b BAR
		b, err = parseBAR(f)
		e.BARs = append(e.BARs, b)
	case f[0] == "bus" && len(f) == 2:
		e.Bridge = true
		_, err = fmt.Sscanf(f[1], "%2x-%2x", &e.SecondaryBus, &e.SubordinateBus)
	case f[0] == "caps":
		for _, c := range f[1:] {
			var cp Capability
			if _, err = fmt.Sscanf(c, "%2x@%2x", &cp.ID, &cp.Offset); err != nil {
				break
			}
			e.Capabilities = append(e.Capabilities, cp)
		}
	case f[0] == "driver" && len(f) == 2:
		e.Driver = f[1]
	default:
		return errors.New("unknown segment")
	}
	return err
}

// parseBAR reads "BARi kind [pref] 0xaddr [size 0xsize]" split into fields.
func parseBAR(f []string) (BAR, error) {
	var b BAR
	if len(f) == 6 && f[2] == "pref" {
		b.Prefetchable = true
		f = append(f[:2], f[3:]...)
	}
	if len(f) != 5 || f[3] != "[size" || !strings.HasSuffix(f[4], "]") {
		return b, errors.New("malformed BAR")
	}
	var err error
	if b.Index, err = parseUint8(strings.TrimPrefix(f[0], "BAR"), 10); err != nil {
		return b, err
	}
	if b.Index >= barCountDevice {
		return b, fmt.Errorf("no BAR%d", b.Index)
	}
	switch f[1] {
	case "io":
		b.Kind = BARIO
	case "mem32":
		b.Kind = BARMem32
	case "mem64":
		b.Kind = BARMem64
	default:
		return b, fmt.Errorf("unknown BAR kind %q", f[1])
	}
	if b.Kind == BARIO && b.Prefetchable {
		return b, errors.New("prefetchable I/O BAR")
	}
	if b.Addr, err = strconv.ParseUint(f[2], 0, 64); err != nil {
		return b, err
	}
	b.Size, err = strconv.ParseUint(strings.TrimSuffix(f[4], "]"), 0, 64)
	return b, err
}

// parsePin reads a pin as pinName writes it.
func parsePin(s string) (uint8, error) {
	if len(s) == 1 && s[0] >= 'A' && s[0] <= 'D' {
		return s[0] - 'A' + 1, nil
	}
	return parseUint8(s, 10)
}

func parseUint8(s string, base int) (uint8, error) {
	v, err := strconv.ParseUint(s, base, 8)
	return uint8(v), err
}
