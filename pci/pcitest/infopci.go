package pcitest

import (
	"bufio"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"tamanet/pci"
)

// InfoPCI is one function as the QEMU monitor's "info pci" describes it.
type InfoPCI struct {
	// Entry holds what "info pci" shows in table terms: address,
	// vendor:device, interrupt line and pin, BARs 0-5, and a bridge's
	// secondary and subordinate bus. Class, revision, programming
	// interface and capabilities are not shown and stay zero. A BAR QEMU
	// does not map (decoding off) has Addr 0xFFFFFFFFFFFFFFFF.
	Entry pci.Entry
	// Class is QEMU's text for the class: a name such as "Ethernet
	// controller", or "Class 0255" (decimal) for classes it cannot name.
	Class     string
	Subsystem pci.ID
}

var (
	infoFunction = regexp.MustCompile(`^ {2}Bus +(\d+), device +(\d+), function (\d+):$`)
	infoDevice   = regexp.MustCompile(`^ {4}(.+): PCI device ([0-9a-f]{4}):([0-9a-f]{4})$`)
	infoSubsys   = regexp.MustCompile(`^ {6}PCI subsystem ([0-9a-f]{4}):([0-9a-f]{4})$`)
	infoIRQ      = regexp.MustCompile(`^ {6}IRQ (\d+), pin ([A-D])$`)
	infoBAR      = regexp.MustCompile(`^ {6}BAR(\d): (I/O|32 bit|64 bit)( prefetchable)?( memory)? at 0x([0-9a-f]+) \[0x([0-9a-f]+)\]\.$`)
	infoBus      = regexp.MustCompile(`^ {6}(secondary|subordinate) bus (\d+)\.$`)
)

// ParseInfoPCI reads the output of QEMU's "info pci" (QEMU 7.x layout).
// Lines it has no use for (id, bridge windows) are skipped; a function
// header, device, IRQ or BAR line it cannot read is an error. Expansion ROM
// BARs (BAR6) are left out, as pci does not size them.
func ParseInfoPCI(text string) ([]InfoPCI, error) {
	var out []InfoPCI
	var cur *InfoPCI
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := infoFunction.FindStringSubmatch(line); m != nil {
			bus, err1 := strconv.ParseUint(m[1], 10, 8)
			dev, err2 := strconv.ParseUint(m[2], 10, 5)
			fn, err3 := strconv.ParseUint(m[3], 10, 3)
			if err1 != nil || err2 != nil || err3 != nil {
				return nil, fmt.Errorf("info pci line %d: bad address %q", n, line)
			}
			out = append(out, InfoPCI{Entry: pci.Entry{Addr: pci.Address{
				Bus: uint8(bus), Device: uint8(dev), Function: uint8(fn)}}})
			cur = &out[len(out)-1]
			continue
		}
		if strings.HasPrefix(line, "  Bus ") {
			return nil, fmt.Errorf("info pci line %d: bad function header %q", n, line)
		}
		if cur == nil {
			continue // monitor banner and the like
		}
		if err := cur.parseLine(line); err != nil {
			return nil, fmt.Errorf("info pci line %d: %v", n, err)
		}
	}
	return out, sc.Err()
}

// parseLine adds what one line inside a function's block says.
func (i *InfoPCI) parseLine(line string) error {
	e := &i.Entry
	if m := infoDevice.FindStringSubmatch(line); m != nil {
		i.Class = m[1]
		e.VendorID, e.DeviceID = hex16(m[2]), hex16(m[3])
		return nil
	}
	if m := infoSubsys.FindStringSubmatch(line); m != nil {
		i.Subsystem = pci.ID{Vendor: hex16(m[1]), Device: hex16(m[2])}
		return nil
	}
	if m := infoIRQ.FindStringSubmatch(line); m != nil {
		irq, err := strconv.ParseUint(m[1], 10, 8)
		if err != nil {
			return fmt.Errorf("bad IRQ in %q", line)
		}
		e.InterruptLine, e.InterruptPin = uint8(irq), m[2][0]-'A'+1
		return nil
	}
	if m := infoBus.FindStringSubmatch(line); m != nil {
		bus, err := strconv.ParseUint(m[2], 10, 8)
		if err != nil {
			return fmt.Errorf("bad bus number in %q", line)
		}
		e.Bridge = true
		if m[1] == "secondary" {
			e.SecondaryBus = uint8(bus)
		} else {
			e.SubordinateBus = uint8(bus)
		}
		return nil
	}
	if !strings.HasPrefix(line, "      BAR") {
		return nil
	}
	m := infoBAR.FindStringSubmatch(line)
	if m == nil || (m[2] == "I/O") != (m[4] == "") {
		return fmt.Errorf("bad BAR line %q", line)
	}
	if m[1] == "6" {
		return nil
	}
	b := pci.BAR{Index: m[1][0] - '0', Prefetchable: m[3] != ""}
	switch m[2] {
	case "I/O":
		b.Kind = pci.BARIO
	case "32 bit":
		b.Kind = pci.BARMem32
	case "64 bit":
		b.Kind = pci.BARMem64
	}
	start, err1 := strconv.ParseUint(m[5], 16, 64)
	end, err2 := strconv.ParseUint(m[6], 16, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad BAR range in %q", line)
	}
	// end-start wraps correctly for the unmapped address ^0.
	b.Addr, b.Size = start, end-start+1
	e.BARs = append(e.BARs, b)
	return nil
}

func hex16(s string) uint16 {
	v, _ := strconv.ParseUint(s, 16, 16) // the regexps admit 4 hex digits only
	return uint16(v)
}

// Matches returns nil if e, a pci table entry, agrees with everything
// "info pci" shows, or an error naming the first difference. BARs QEMU
// does not map are compared by kind and size only.
func (i InfoPCI) Matches(e pci.Entry) error {
	want := i.Entry
	switch {
	case e.Addr != want.Addr:
		return fmt.Errorf("address %s, info pci has %s", e.Addr, want.Addr)
	case e.VendorID != want.VendorID || e.DeviceID != want.DeviceID:
		return fmt.Errorf("%s: id %04x:%04x, info pci has %04x:%04x", e.Addr,
			e.VendorID, e.DeviceID, want.VendorID, want.DeviceID)
	case e.InterruptLine != want.InterruptLine || e.InterruptPin != want.InterruptPin:
		return fmt.Errorf("%s: irq %d pin %d, info pci has irq %d pin %d", e.Addr,
			e.InterruptLine, e.InterruptPin, want.InterruptLine, want.InterruptPin)
	case e.Bridge != want.Bridge || e.SecondaryBus != want.SecondaryBus ||
		e.SubordinateBus != want.SubordinateBus:
		return fmt.Errorf("%s: bridge %v bus %02x-%02x, info pci has bridge %v bus %02x-%02x", e.Addr,
			e.Bridge, e.SecondaryBus, e.SubordinateBus, want.Bridge, want.SecondaryBus, want.SubordinateBus)
	}
	got := slices.Clone(e.BARs)
	for j, w := range want.BARs {
		if w.Addr == ^uint64(0) && j < len(got) && got[j].Index == w.Index {
			got[j].Addr = w.Addr
		}
	}
	if !slices.Equal(got, want.BARs) {
		return fmt.Errorf("%s: BARs %v, info pci has %v", e.Addr, e.BARs, want.BARs)
	}
	return nil
}
