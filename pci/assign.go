package pci

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Type 1 header address window registers (PCI-to-PCI Bridge Architecture
// Specification 1.2, sections 3.2.5.6-3.2.5.10).
const (
	IO_BASE                = 0x1C // 8 bits: I/O base address bits 15:12 in bits 7:4
	IO_LIMIT               = 0x1D
	SECONDARY_STATUS       = 0x1E // write-one-to-clear bits: never written here
	MEMORY_BASE            = 0x20 // 16 bits: address bits 31:20 in bits 15:4
	MEMORY_LIMIT           = 0x22
	PREF_MEMORY_BASE       = 0x24 // as MEMORY_BASE; bits 3:0 say 32 or 64-bit
	PREF_MEMORY_LIMIT      = 0x26
	PREF_BASE_UPPER32      = 0x28
	PREF_LIMIT_UPPER32     = 0x2C
	IO_BASE_UPPER16        = 0x30 // 32-bit I/O only
	IO_LIMIT_UPPER16       = 0x32
	BRIDGE_IO_32BIT        = 0x1  // capability in the low nibble of IO_BASE/IO_LIMIT
	BRIDGE_IO_ADDR_MASK    = 0xF0 // writable part of IO_BASE/IO_LIMIT
	BRIDGE_MEMORY_ADDR_MSK = 0xFFF0
)

// Bridge windows are decoded in these units: 4 KiB of I/O, 1 MiB of memory.
const (
	bridgeIOGranule  = 1 << 12
	bridgeMemGranule = 1 << 20
)

// Range is the address range [Start, End).
type Range struct {
	Start, End uint64
}

// Size returns End-Start.
func (r Range) Size() uint64 { return r.End - r.Start }

func (r Range) String() string { return fmt.Sprintf("[%#x-%#x)", r.Start, r.End) }

func (r Range) overlaps(o Range) bool { return r.Start < o.End && o.Start < r.End }

// fixedIODecodes are I/O ports the chipsets QEMU emulates decode
// themselves, whatever the PCI windows say: a BAR placed on them would be
// shadowed, or would shadow them. Assign keeps every I/O BAR and bridge I/O
// window clear of them, as SeaBIOS does by starting its I/O window above
// them.
var fixedIODecodes = []struct {
	Range
	what string
}{
	// ISA devices, the PIC, PIT, DMA, RTC, PCI configuration ports, and
	// QEMU's fw_cfg, debug and pvpanic ports: the first 4 KiB, never PCI.
	{Range{0x0000, 0x1000}, "legacy ISA and chipset ports"},
	// ICH9 (q35) ACPI PM block at PMBASE 0x600 (QEMU's ICH9_PMIO base, set
	// by firmware), and qboot's PIIX4 PMBASE 0x600 too.
	{Range{0x0600, 0x0680}, "ICH9 ACPI power management (q35), qboot's PIIX4 PM"},
	// QEMU's ACPI hotplug registers on -M pc: PCI hotplug at 0xae00, CPU
	// hotplug at 0xaf00, GPE0 at 0xafe0.
	{Range{0xae00, 0xb000}, "QEMU ACPI PCI/CPU hotplug and GPE0"},
	// PIIX4 ACPI PM block where SeaBIOS puts PMBASE (0xb000, 64 ports).
	{Range{0xb000, 0xb040}, "PIIX4 ACPI power management (SeaBIOS PMBASE)"},
	// PIIX4 SMBus host controller where SeaBIOS puts SMBBA (0xb100).
	{Range{0xb100, 0xb110}, "PIIX4 SMBus (SeaBIOS SMBBA)"},
}

// Windows are the ranges the host bridge forwards to PCI, from which Assign
// may take addresses: below 4 GiB for memory (every BAR is placed there,
// 64-bit ones included) and below 64 KiB for I/O.
type Windows struct {
	Mem, IO Range
}

// ErrNoSpace is a BAR or bridge window Assign could not place.
var ErrNoSpace = errors.New("pci: no room in the window")

// Assign gives addresses to the Base Address Registers firmware left
// unassigned (reading back 0) and opens the windows of the bridges that
// lead to them, as Linux does when the BIOS did not
// (pci_assign_unassigned_resources). Firmware like QEMU's qboot numbers the
// buses but assigns no BARs; SeaBIOS assigns all, and then Assign changes
// nothing.
//
// What firmware assigned stays where it is and is kept clear of. Behind a
// bridge whose windows are closed every BAR is laid out afresh (nothing
// there was reachable) and the windows are sized to fit; a bridge whose
// window is open keeps it, and its unassigned BARs must fit in the room
// left. BARs are packed largest alignment first from the top of each
// window down, as SeaBIOS does; prefetchable BARs go to the plain memory
// window (always allowed) and prefetchable bridge windows stay closed.
// I/O BARs and windows keep clear of the ports the chipset decodes itself
// (fixedIODecodes), wherever the window given starts.
// A function that got addresses has its decoding switched on for them, as
// firmware leaves it, and a bridge whose windows were opened forwards
// memory, I/O and bus mastering.
//
// Device.BARs are updated. The error joins what could not be placed, each
// naming its function; the rest is assigned regardless.
func (b *Bus) Assign(w Windows) error {
	a := &assigner{bus: b, windows: w}
	for _, d := range b.Devices {
		if d.IsBridge() {
			a.readWindows(d)
		}
	}
	root := a.children(nil)
	if !a.needy(root) {
		return nil
	}
	var errs []error
	for _, kind := range []BARKind{BARMem32, BARIO} {
		errs = append(errs, a.placeIn(root, kind, a.rootWindow(kind), false)...)
	}
	for _, d := range b.Devices {
		a.program(d)
	}
	return errors.Join(errs...)
}

// assigner carries one Assign call.
type assigner struct {
	bus     *Bus
	windows Windows
	// open holds the bridges' windows as found or as opened, by kind
	// (BARMem32 for memory, BARIO); a missing entry is a closed window.
	open map[*Device]map[BARKind]Range
	// pref holds the bridges' open prefetchable windows: kept clear of,
	// never placed in.
	pref map[*Device]Range
	// fresh marks the bridge windows Assign opened: the subtree behind is
	// laid out afresh in them.
	fresh map[window]bool
	// moved marks functions with a BAR or window Assign wrote.
	moved map[*Device]bool
}

// window names one bridge window.
type window struct {
	bridge *Device
	kind   BARKind
}

// request is one thing to place: a BAR (index >= 0) or a bridge window.
type request struct {
	dev   *Device
	bar   int // index into dev.BARs, -1 for the bridge window
	size  uint64
	align uint64
}

func (a *assigner) rootWindow(kind BARKind) Range {
	if kind == BARIO {
		return a.windows.IO
	}
	return a.windows.Mem
}

// space maps a BAR kind to the window kind it is placed in.
func space(k BARKind) BARKind {
	if k == BARIO {
		return BARIO
	}
	return BARMem32
}

// children returns the functions on the bus behind bridge (bus 0 for nil).
func (a *assigner) children(bridge *Device) []*Device {
	var ds []*Device
	for _, d := range a.bus.Devices {
		if d.Parent == bridge {
			ds = append(ds, d)
		}
	}
	return ds
}

// readWindows records a bridge's open memory and I/O windows.
func (a *assigner) readWindows(d *Device) {
	if a.open == nil {
		a.open = map[*Device]map[BARKind]Range{}
	}
	m := map[BARKind]Range{}
	io := d.Read32(IO_BASE)
	base := uint64(io&BRIDGE_IO_ADDR_MASK) << 8
	limit := uint64(io>>8&BRIDGE_IO_ADDR_MASK)<<8 | (bridgeIOGranule - 1)
	if io&0xF == BRIDGE_IO_32BIT {
		upper := d.Read32(IO_BASE_UPPER16)
		base |= uint64(upper&0xFFFF) << 16
		limit |= uint64(upper>>16) << 16
	}
	if base <= limit && base != 0 {
		m[BARIO] = Range{base, limit + 1}
	}
	mem := d.Read32(MEMORY_BASE)
	base = uint64(mem&BRIDGE_MEMORY_ADDR_MSK) << 16
	limit = uint64(mem>>16&BRIDGE_MEMORY_ADDR_MSK)<<16 | (bridgeMemGranule - 1)
	if base <= limit && base != 0 {
		m[BARMem32] = Range{base, limit + 1}
	}
	a.open[d] = m
	pm := d.Read32(PREF_MEMORY_BASE)
	base = uint64(pm&BRIDGE_MEMORY_ADDR_MSK) << 16
	limit = uint64(pm>>16&BRIDGE_MEMORY_ADDR_MSK)<<16 | (bridgeMemGranule - 1)
	if pm&0xF == 1 { // 64-bit
		base |= uint64(d.Read32(PREF_BASE_UPPER32)) << 32
		limit |= uint64(d.Read32(PREF_LIMIT_UPPER32)) << 32
	}
	if base <= limit && base != 0 {
		if a.pref == nil {
			a.pref = map[*Device]Range{}
		}
		a.pref[d] = Range{base, limit + 1}
	}
}

// needy reports whether any of ds, or anything behind those that are
// bridges, has an unassigned BAR.
func (a *assigner) needy(ds []*Device) bool {
	for _, d := range ds {
		for _, bar := range d.BARs {
			if bar.Addr == 0 {
				return true
			}
		}
		if d.IsBridge() && a.needy(a.children(d)) {
			return true
		}
	}
	return false
}

// placeIn places, inside win, the kind's unassigned BARs of ds (all of
// them when fresh) and the windows of their bridges that must be opened,
// keeping clear of what stays. It then lays out the bridges' subtrees.
func (a *assigner) placeIn(ds []*Device, kind BARKind, win Range, fresh bool) []error {
	var reqs []request
	var busy []Range
	var errs []error
	for _, d := range ds {
		for i, bar := range d.BARs {
			if space(bar.Kind) != kind {
				continue
			}
			if bar.Addr != 0 && !fresh {
				busy = append(busy, Range{bar.Addr, bar.Addr + bar.Size})
				continue
			}
			reqs = append(reqs, request{dev: d, bar: i, size: bar.Size, align: bar.Size})
		}
		if !d.IsBridge() {
			continue
		}
		if r, ok := a.pref[d]; ok && kind == BARMem32 && !fresh {
			busy = append(busy, r)
		}
		if r, ok := a.open[d][kind]; ok && !fresh {
			busy = append(busy, r)
			continue
		}
		if fresh || a.needy(a.children(d)) {
			if size, align := a.windowNeed(d, kind); size > 0 {
				reqs = append(reqs, request{dev: d, bar: -1, size: size, align: align})
			}
		}
	}
	if kind == BARIO {
		for _, f := range fixedIODecodes {
			busy = append(busy, f.Range)
		}
	}
	// Largest alignment first, then largest size: a tight top-down pack.
	slices.SortStableFunc(reqs, func(x, y request) int {
		return cmp.Or(cmp.Compare(y.align, x.align), cmp.Compare(y.size, x.size))
	})
	for _, r := range reqs {
		at, ok := fitTopDown(win, busy, r.size, r.align)
		if !ok {
			what := fmt.Sprintf("BAR%d", r.dev.BARs[max(r.bar, 0)].Index)
			if r.bar < 0 {
				what = fmt.Sprintf("%v bridge window", kind)
			}
			errs = append(errs, fmt.Errorf("%s: %s of %#x bytes in %v: %w", r.dev.Addr, what, r.size, win, ErrNoSpace))
			continue
		}
		placed := Range{at, at + r.size}
		busy = append(busy, placed)
		a.mark(r.dev)
		if r.bar >= 0 {
			r.dev.BARs[r.bar].Addr = at
			continue
		}
		a.open[r.dev][kind] = placed
		if a.fresh == nil {
			a.fresh = map[window]bool{}
		}
		a.fresh[window{r.dev, kind}] = true
	}
	// Behind each bridge: afresh into a window just opened, or the
	// unassigned rest into one that was open.
	for _, d := range ds {
		if !d.IsBridge() {
			continue
		}
		r, ok := a.open[d][kind]
		if !ok {
			continue
		}
		fresh := a.fresh[window{d, kind}]
		if sub := a.children(d); fresh || a.needy(sub) {
			errs = append(errs, a.placeIn(sub, kind, r, fresh)...)
		}
	}
	return errs
}

// windowNeed is the size and alignment of the kind's window a bridge needs
// for everything behind it laid out afresh: its children packed largest
// alignment first, rounded up to the window's granule; 0 if nothing behind
// it decodes that kind.
func (a *assigner) windowNeed(bridge *Device, kind BARKind) (size, align uint64) {
	granule := uint64(bridgeMemGranule)
	if kind == BARIO {
		granule = bridgeIOGranule
	}
	type item struct{ size, align uint64 }
	var items []item
	for _, d := range a.children(bridge) {
		for _, bar := range d.BARs {
			if space(bar.Kind) == kind {
				items = append(items, item{bar.Size, bar.Size})
			}
		}
		if d.IsBridge() {
			if s, al := a.windowNeed(d, kind); s > 0 {
				items = append(items, item{s, al})
			}
		}
	}
	if len(items) == 0 {
		return 0, 0
	}
	slices.SortStableFunc(items, func(x, y item) int {
		return cmp.Or(cmp.Compare(y.align, x.align), cmp.Compare(y.size, x.size))
	})
	align = max(granule, items[0].align)
	for _, it := range items {
		size = alignUp(size, it.align) + it.size
	}
	return alignUp(size, granule), align
}

// fitTopDown returns the highest address below win.End, aligned to align,
// where size bytes fit inside win without touching any busy range.
func fitTopDown(win Range, busy []Range, size, align uint64) (uint64, bool) {
	if size == 0 || size > win.Size() {
		return 0, false
	}
	top := win.End
	for {
		if top < size {
			return 0, false
		}
		at := alignDown(top-size, align)
		if at < win.Start {
			return 0, false
		}
		r := Range{at, at + size}
		blocked := false
		for _, b := range busy {
			if r.overlaps(b) {
				// Try just below the lowest range in the way.
				if !blocked || b.Start < top {
					top = b.Start
				}
				blocked = true
			}
		}
		if !blocked {
			return at, true
		}
	}
}

func alignUp(v, a uint64) uint64   { return (v + a - 1) &^ (a - 1) }
func alignDown(v, a uint64) uint64 { return v &^ (a - 1) }

func (a *assigner) mark(d *Device) {
	if a.moved == nil {
		a.moved = map[*Device]bool{}
	}
	a.moved[d] = true
}

// program writes what Assign decided for d: its BARs with decoding off,
// then decoding on for the spaces it has BARs in; for a bridge whose
// windows it opened, the windows and forwarding.
func (a *assigner) program(d *Device) {
	if !a.moved[d] {
		return
	}
	a.bus.Stats.Assigned++
	cmd := d.Command()
	d.SetCommand(cmd &^ commandDecode)
	for _, bar := range d.BARs {
		off := uint8(BASE_ADDRESS_0 + 4*bar.Index)
		low := d.Read32(off)
		switch bar.Kind {
		case BARIO:
			d.Write32(off, uint32(bar.Addr)|low&^BAR_IO_ADDR_MASK)
			cmd |= COMMAND_IO_SPACE
		case BARMem32:
			d.Write32(off, uint32(bar.Addr)|low&^BAR_MEM_ADDR_MASK)
			cmd |= COMMAND_MEMORY_SPACE
		case BARMem64:
			d.Write32(off, uint32(bar.Addr)|low&^BAR_MEM_ADDR_MASK)
			d.Write32(off+4, uint32(bar.Addr>>32))
			cmd |= COMMAND_MEMORY_SPACE
		}
	}
	if d.IsBridge() && (a.fresh[window{d, BARMem32}] || a.fresh[window{d, BARIO}]) {
		a.programWindows(d)
		cmd |= COMMAND_MEMORY_SPACE | COMMAND_IO_SPACE | COMMAND_BUS_MASTER
		a.bus.Stats.BridgeWindows++
	}
	d.SetCommand(cmd)
}

// programWindows writes a bridge's memory and I/O windows as recorded in
// a.open (closed where there is none) and closes its prefetchable window.
func (a *assigner) programWindows(d *Device) {
	w := a.open[d]
	// I/O: the dword holds Secondary Status in its upper half, whose
	// write-one-to-clear bits are left alone by writing zeros.
	io, ok := w[BARIO]
	ioBase, ioLimit := uint64(bridgeIOGranule), uint64(0) // closed: base > limit
	if ok {
		ioBase, ioLimit = io.Start, io.End-1
	}
	caps := d.Read32(IO_BASE) & 0xF
	d.Write32(IO_BASE, uint32(ioBase>>8)&BRIDGE_IO_ADDR_MASK|uint32(ioLimit>>8)&BRIDGE_IO_ADDR_MASK<<8)
	if caps == BRIDGE_IO_32BIT {
		d.Write32(IO_BASE_UPPER16, uint32(ioBase>>16)&0xFFFF|uint32(ioLimit>>16)<<16)
	}
	mem, ok := w[BARMem32]
	memBase, memLimit := uint64(bridgeMemGranule), uint64(0)
	if ok {
		memBase, memLimit = mem.Start, mem.End-1
	}
	d.Write32(MEMORY_BASE, uint32(memBase>>16)&BRIDGE_MEMORY_ADDR_MSK|uint32(memLimit>>16)&BRIDGE_MEMORY_ADDR_MSK<<16)
	// Prefetchable: closed, base above limit.
	d.Write32(PREF_MEMORY_BASE, BRIDGE_MEMORY_ADDR_MSK)
	d.Write32(PREF_BASE_UPPER32, 0)
	d.Write32(PREF_LIMIT_UPPER32, 0)
}
