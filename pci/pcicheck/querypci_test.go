//go:build !tamago

package main

import (
	"cmp"
	"fmt"
	"slices"

	"tamanet/pci"
)

// qmpPCIBus is one element of QMP's query-pci reply (QAPI PciInfo).
type qmpPCIBus struct {
	Bus     int            `json:"bus"`
	Devices []qmpPCIDevice `json:"devices"`
}

// qmpPCIDevice is QAPI PciDeviceInfo, the fields the pci table also has.
// HMP's "info pci" prints the same data; query-pci has the class as a
// number, which "info pci" only names.
type qmpPCIDevice struct {
	Bus       int `json:"bus"`
	Slot      int `json:"slot"`
	Function  int `json:"function"`
	ClassInfo struct {
		// Class is base class << 8 | sub-class.
		Class int `json:"class"`
	} `json:"class_info"`
	ID struct {
		Vendor int `json:"vendor"`
		Device int `json:"device"`
	} `json:"id"`
	// IRQ is the Interrupt Line register, present when IRQPin is not 0.
	IRQ       *int `json:"irq"`
	IRQPin    int  `json:"irq_pin"`
	PCIBridge *struct {
		Bus struct {
			Secondary   int `json:"secondary"`
			Subordinate int `json:"subordinate"`
		} `json:"bus"`
		Devices []qmpPCIDevice `json:"devices"`
	} `json:"pci_bridge"`
	Regions []qmpPCIRegion `json:"regions"`
}

// qmpPCIRegion is QAPI PciBarInfo. Address is where QEMU maps the BAR,
// -1 while the function does not decode it.
type qmpPCIRegion struct {
	Bar       int    `json:"bar"`
	Type      string `json:"type"` // "io" or "memory"
	Address   int64  `json:"address"`
	Size      uint64 `json:"size"`
	Prefetch  bool   `json:"prefetch"`
	MemType64 bool   `json:"mem_type_64"`
}

// unmapped is the BAR address of qmpPCIRegion.Address -1.
const unmapped = ^uint64(0)

// qmpEntries turns a query-pci reply into pci table entries, devices
// behind bridges included, sorted by address. Only what QEMU reports is
// filled in: no revision, programming interface or capabilities. Expansion
// ROM BARs (bar 6) are left out, as pci does not size them. A value out of
// range for its register is an error.
func qmpEntries(buses []qmpPCIBus) ([]pci.Entry, error) {
	var out []pci.Entry
	var add func(devs []qmpPCIDevice) error
	add = func(devs []qmpPCIDevice) error {
		for _, d := range devs {
			e, err := qmpEntry(d)
			if err != nil {
				return err
			}
			out = append(out, e)
			if d.PCIBridge != nil {
				if err := add(d.PCIBridge.Devices); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, b := range buses {
		if err := add(b.Devices); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(x, y pci.Entry) int { return compareAddr(x.Addr, y.Addr) })
	return out, nil
}

// qmpEntry converts one function.
func qmpEntry(d qmpPCIDevice) (pci.Entry, error) {
	where := fmt.Sprintf("query-pci bus %d slot %d function %d", d.Bus, d.Slot, d.Function)
	switch {
	case !inRange(d.Bus, 0xFF) || !inRange(d.Slot, pci.MaxDevice) || !inRange(d.Function, pci.MaxFunction):
		return pci.Entry{}, fmt.Errorf("%s: no such function", where)
	case !inRange(d.ClassInfo.Class, 0xFFFF) || !inRange(d.ID.Vendor, 0xFFFF) || !inRange(d.ID.Device, 0xFFFF):
		return pci.Entry{}, fmt.Errorf("%s: class %#x or id %#x:%#x out of range", where,
			d.ClassInfo.Class, d.ID.Vendor, d.ID.Device)
	case !inRange(d.IRQPin, 0xFF) || (d.IRQPin != 0) != (d.IRQ != nil) || (d.IRQ != nil && !inRange(*d.IRQ, 0xFF)):
		return pci.Entry{}, fmt.Errorf("%s: bad irq/pin", where)
	}
	e := pci.Entry{
		Addr:      pci.Address{Bus: uint8(d.Bus), Device: uint8(d.Slot), Function: uint8(d.Function)},
		BaseClass: uint8(d.ClassInfo.Class >> 8), SubClass: uint8(d.ClassInfo.Class),
		VendorID: uint16(d.ID.Vendor), DeviceID: uint16(d.ID.Device),
	}
	if d.IRQPin != 0 {
		e.InterruptLine, e.InterruptPin = uint8(*d.IRQ), uint8(d.IRQPin)
	}
	if br := d.PCIBridge; br != nil {
		if !inRange(br.Bus.Secondary, 0xFF) || !inRange(br.Bus.Subordinate, 0xFF) {
			return pci.Entry{}, fmt.Errorf("%s: bad bridge bus numbers", where)
		}
		e.Bridge, e.SecondaryBus, e.SubordinateBus = true, uint8(br.Bus.Secondary), uint8(br.Bus.Subordinate)
	}
	for _, r := range d.Regions {
		if r.Bar == 6 {
			continue
		}
		b, err := qmpBAR(r)
		if err != nil {
			return pci.Entry{}, fmt.Errorf("%s: %v", where, err)
		}
		e.BARs = append(e.BARs, b)
	}
	slices.SortFunc(e.BARs, func(x, y pci.BAR) int { return cmp.Compare(x.Index, y.Index) })
	return e, nil
}

// qmpBAR converts one region.
func qmpBAR(r qmpPCIRegion) (pci.BAR, error) {
	if !inRange(r.Bar, 5) || r.Address < -1 {
		return pci.BAR{}, fmt.Errorf("bad region %+v", r)
	}
	b := pci.BAR{Index: uint8(r.Bar), Addr: uint64(r.Address), Size: r.Size}
	switch {
	case r.Type == "io" && !r.Prefetch && !r.MemType64:
		b.Kind = pci.BARIO
	case r.Type == "memory" && r.MemType64:
		b.Kind = pci.BARMem64
	case r.Type == "memory":
		b.Kind = pci.BARMem32
	default:
		return pci.BAR{}, fmt.Errorf("bad region %+v", r)
	}
	b.Prefetchable = r.Prefetch
	return b, nil
}

func inRange(v, max int) bool { return v >= 0 && v <= max }
