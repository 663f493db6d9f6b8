package pci

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrBusLoop is a bridge whose secondary bus was already scanned: a
// misprogrammed or looping hierarchy. The bus is not scanned again.
var ErrBusLoop = errors.New("pci: secondary bus already scanned")

// ErrHeaderType is a header layout the specification does not define; the
// function is recorded without BARs or capabilities.
var ErrHeaderType = errors.New("pci: unknown header type")

// Stats counts what enumeration and probing found. What was found is a
// gauge (see tamanet/expose); failed probes are a counter.
type Stats struct {
	Buses     int `metric:"gauge"` // buses scanned
	Functions int `metric:"gauge"` // functions present
	Bridges   int `metric:"gauge"` // PCI-to-PCI bridges among them
	// UnconfiguredBridges have secondary bus 0: firmware gave them no
	// bus number, so nothing behind them is reachable.
	UnconfiguredBridges int `metric:"gauge"`
	BusLoops            int `metric:"gauge"` // bridges whose secondary bus was already scanned
	BadFunctions        int `metric:"gauge"` // functions with a BAR, capability or header error
	Bound               int `metric:"gauge"` // functions a driver bound to
	ProbeErrors         int // failed driver probes, panics included
	// Assigned counts functions Assign gave addresses to, BridgeWindows
	// the bridges whose windows it opened.
	Assigned, BridgeWindows int
	// PIRQsRouted counts PIRQs RouteINTx routed because firmware had
	// not, InterruptLinesFixed the Interrupt Lines it rewrote to match
	// the router.
	PIRQsRouted, InterruptLinesFixed int
}

// Bus is the result of enumerating a PCI hierarchy.
type Bus struct {
	// Devices holds every function found, sorted by bus, device and
	// function.
	Devices []*Device
	Stats   Stats

	cs      ConfigSpace
	drivers *Registry
	router  *pirqRouter // nil on a chipset this package does not know
}

// Enumerate scans every bus reachable from bus 0 through PCI-to-PCI
// bridges, sizes every BAR and walks every capability list. drivers is the
// registry Probe will match against; nil means Default.
//
// The returned Bus is complete even when err is not nil: err joins the
// problems found (bad BARs, capability lists, bridge loops), each naming
// its function, and the same problems are in the Device.Err fields and the
// Stats. Enumerate does not assign bus numbers or addresses; it reads what
// firmware programmed.
func Enumerate(cs ConfigSpace, drivers *Registry) (*Bus, error) {
	if drivers == nil {
		drivers = &Default
	}
	b := &Bus{cs: cs, drivers: drivers}
	var scanned [256]bool
	scanned[0] = true
	errs := b.scan(0, nil, &scanned)
	slices.SortFunc(b.Devices, func(x, y *Device) int {
		return cmp.Or(cmp.Compare(x.Addr.Bus, y.Addr.Bus),
			cmp.Compare(x.Addr.Device, y.Addr.Device),
			cmp.Compare(x.Addr.Function, y.Addr.Function))
	})
	b.router = findRouter(b.Devices)
	return b, errors.Join(errs...)
}

// scan scans bus and, depth first, the buses behind its bridges, as the
// bus numbers firmware assigns nest that way. scanned holds the buses seen
// so far; a bridge leading to one of them is reported, not followed, which
// ends any loop.
func (b *Bus) scan(bus uint8, parent *Device, scanned *[256]bool) []error {
	var errs []error
	b.Stats.Buses++
	for _, d := range b.scanBus(bus, parent) {
		if d.Err != nil {
			b.Stats.BadFunctions++
			errs = append(errs, fmt.Errorf("%s: %w", d.Addr, d.Err))
		}
		if !d.IsBridge() {
			continue
		}
		b.Stats.Bridges++
		switch sec := d.SecondaryBus; {
		case sec == 0:
			b.Stats.UnconfiguredBridges++
		case scanned[sec]:
			b.Stats.BusLoops++
			errs = append(errs, fmt.Errorf("%s: bridge to bus %02x: %w", d.Addr, sec, ErrBusLoop))
		default:
			scanned[sec] = true
			errs = append(errs, b.scan(sec, d, scanned)...)
		}
	}
	return errs
}

// scanBus reads every function present on bus and returns them in address
// order. Function 0 must exist for a device to exist (PCI 3.0 6.2.1), and
// functions 1-7 are only looked at when function 0 sets the multi-function
// bit, since single-function devices may answer on every function number.
func (b *Bus) scanBus(bus uint8, parent *Device) []*Device {
	var found []*Device
	for dev := uint8(0); dev <= MaxDevice; dev++ {
		d0 := b.readFunction(Address{bus, dev, 0}, parent)
		if d0 == nil {
			continue
		}
		found = append(found, d0)
		if !d0.MultiFunction {
			continue
		}
		for fn := uint8(1); fn <= MaxFunction; fn++ {
			if d := b.readFunction(Address{bus, dev, fn}, parent); d != nil {
				found = append(found, d)
			}
		}
	}
	b.Devices = append(b.Devices, found...)
	b.Stats.Functions += len(found)
	return found
}

// readFunction records the function at a, or returns nil if it is absent.
func (b *Bus) readFunction(a Address, parent *Device) *Device {
	id := b.cs.Read32(a.Bus, a.Device, a.Function, VENDOR_ID)
	if v := uint16(id); v == vendorAbsent || v == vendorNeverAssigned {
		return nil
	}
	d := &Device{Addr: a, Parent: parent, cs: b.cs, bus: b,
		VendorID: uint16(id), DeviceID: uint16(id >> 16)}

	cc := d.Read32(REVISION_ID)
	d.RevisionID, d.ProgIF, d.SubClass, d.BaseClass =
		uint8(cc), uint8(cc>>8), uint8(cc>>16), uint8(cc>>24)
	ht := d.Read8(HEADER_TYPE)
	d.HeaderType = ht & headerTypeLayoutMask
	d.MultiFunction = ht&HEADER_TYPE_MULTI_FUNCTION != 0
	intr := d.Read32(INTERRUPT_LINE)
	d.InterruptLine, d.InterruptPin = uint8(intr), uint8(intr>>8)

	var nBARs int
	switch d.HeaderType {
	case HEADER_TYPE_DEVICE:
		ss := d.Read32(SUBSYSTEM_VENDOR_ID)
		d.SubsystemVendorID, d.SubsystemID = uint16(ss), uint16(ss>>16)
		nBARs = barCountDevice
	case HEADER_TYPE_BRIDGE:
		buses := d.Read32(PRIMARY_BUS_NUMBER)
		d.PrimaryBus, d.SecondaryBus, d.SubordinateBus =
			uint8(buses), uint8(buses>>8), uint8(buses>>16)
		nBARs = barCountBridge
	case HEADER_TYPE_CARDBUS:
		nBARs = barCountCardBus
	default:
		d.Err = fmt.Errorf("header type %#04x: %w", d.HeaderType, ErrHeaderType)
		return d
	}

	bars, barErr := d.sizeBARs(nBARs)
	caps, capErr := d.walkCapabilities()
	d.BARs, d.Capabilities = bars, caps
	d.Err = errors.Join(barErr, capErr)
	return d
}
