package pci

import "fmt"

// MSI-X capability registers, as offsets from the capability, and the
// table's layout (PCI 3.0 section 6.8.2).
const (
	MSIX_CONTROL            = 0x02
	MSIX_TABLE              = 0x04 // Table Offset and BIR
	MSIX_PBA                = 0x08 // PBA Offset and BIR
	MSIX_CTRL_TABLE_SIZE    = 0x7FF
	MSIX_CTRL_FUNCTION_MASK = 1 << 14
	MSIX_CTRL_ENABLE        = 1 << 15
	MSIX_BIR_MASK           = 0x7

	// Each table entry: Message Address, Message Upper Address, Message
	// Data, Vector Control.
	MSIX_ENTRY_SIZE         = 16
	MSIX_ENTRY_ADDR_LO      = 0x0
	MSIX_ENTRY_ADDR_HI      = 0x4
	MSIX_ENTRY_DATA         = 0x8
	MSIX_ENTRY_VECTOR_CTRL  = 0xC
	MSIX_VECTOR_CTRL_MASKED = 1 << 0
)

// Registers is 32-bit access to a memory BAR, at byte offsets from its
// start. On hardware it is MMIO over the BAR the caller mapped; in tests a
// model.
type Registers interface {
	Read32(off uint32) uint32
	Write32(off uint32, val uint32)
}

// MSIXRegion is where an MSI-X structure lives: a memory BAR of the
// function and the offset in it.
type MSIXRegion struct {
	BAR    BAR
	Offset uint32
}

// MSIXInfo is a function's MSI-X capability as read from configuration
// space and checked against its BARs.
type MSIXInfo struct {
	// Capability is the capability's offset in configuration space.
	Capability uint8
	// TableSize is the number of vectors (table entries), 1 to 2048.
	TableSize int
	// Table holds the vector table (TableSize entries of 16 bytes), PBA
	// the Pending Bit Array (one bit per entry, in 64-bit words).
	Table, PBA MSIXRegion
}

// MSIXInfo reads and checks the function's MSI-X capability: ErrNoMSI if
// it has none, ErrMSIXTable if the table or PBA lies outside a memory BAR
// with an address.
func (d *Device) MSIXInfo() (MSIXInfo, error) {
	off, ok := d.FindCapability(CAP_ID_MSIX)
	if !ok {
		return MSIXInfo{}, fmt.Errorf("%v: MSI-X: %w", d.Addr, ErrNoMSI)
	}
	info := MSIXInfo{
		Capability: off,
		TableSize:  int(d.Read16(off+MSIX_CONTROL)&MSIX_CTRL_TABLE_SIZE) + 1,
	}
	var err error
	if info.Table, err = d.msixRegion(d.Read32(off+MSIX_TABLE), uint64(info.TableSize)*MSIX_ENTRY_SIZE); err != nil {
		return info, fmt.Errorf("%v: MSI-X table: %w", d.Addr, err)
	}
	pbaSize := uint64(info.TableSize+63) / 64 * 8
	if info.PBA, err = d.msixRegion(d.Read32(off+MSIX_PBA), pbaSize); err != nil {
		return info, fmt.Errorf("%v: MSI-X PBA: %w", d.Addr, err)
	}
	return info, nil
}

// msixRegion decodes an Offset/BIR register for a structure of size bytes.
func (d *Device) msixRegion(reg uint32, size uint64) (MSIXRegion, error) {
	bir := uint8(reg & MSIX_BIR_MASK)
	r := MSIXRegion{Offset: reg &^ MSIX_BIR_MASK}
	found := false
	for _, b := range d.BARs {
		if b.Index == bir {
			r.BAR, found = b, true
		}
	}
	switch {
	case !found:
		return r, fmt.Errorf("BIR %d names no implemented BAR: %w", bir, ErrMSIXTable)
	case r.BAR.Kind == BARIO:
		return r, fmt.Errorf("BIR %d names an I/O BAR: %w", bir, ErrMSIXTable)
	case r.BAR.Addr == 0:
		return r, fmt.Errorf("BAR%d has no address assigned: %w", bir, ErrMSIXTable)
	case uint64(r.Offset)+size > r.BAR.Size:
		return r, fmt.Errorf("%#x bytes at %#x overrun BAR%d's %#x: %w", size, r.Offset, bir, r.BAR.Size, ErrMSIXTable)
	}
	return r, nil
}

// MSIX drives a function's MSI-X table through the BARs holding it.
type MSIX struct {
	MSIXInfo
	d          *Device
	table, pba Registers
}

// MSIX reads and checks the function's MSI-X capability (see MSIXInfo)
// and maps the BARs holding its table and PBA with mapBAR (once if they
// share one). It changes nothing on the function.
func (d *Device) MSIX(mapBAR func(BAR) (Registers, error)) (*MSIX, error) {
	info, err := d.MSIXInfo()
	if err != nil {
		return nil, err
	}
	x := &MSIX{MSIXInfo: info, d: d}
	if x.table, err = mapBAR(info.Table.BAR); err != nil {
		return nil, fmt.Errorf("%v: MSI-X table: %w", d.Addr, err)
	}
	x.pba = x.table
	if info.PBA.BAR.Index != info.Table.BAR.Index {
		if x.pba, err = mapBAR(info.PBA.BAR); err != nil {
			return nil, fmt.Errorf("%v: MSI-X PBA: %w", d.Addr, err)
		}
	}
	return x, nil
}

func (x *MSIX) control() uint16 { return x.d.Read16(x.Capability + MSIX_CONTROL) }

// Message Control shares its dword with the read-only ID and next
// pointer and has no write-one-to-clear bits: Write16 is safe on it.
func (x *MSIX) setControl(v uint16) { x.d.Write16(x.Capability+MSIX_CONTROL, v) }

// Enable turns MSI-X on with every entry masked, so that no vector fires
// before Set and Unmask made it valid, and stops the function's INTx#. The
// Function Mask covers the switch-over. It also enables memory decoding,
// for the table, and bus mastering: a message is a memory write the
// function makes.
func (x *MSIX) Enable() {
	x.d.updateCommand(COMMAND_MEMORY_SPACE|COMMAND_BUS_MASTER, 0)
	x.setControl(x.control() | MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK)
	for i := range x.TableSize {
		x.writeEntry(i, MSIX_ENTRY_VECTOR_CTRL, MSIX_VECTOR_CTRL_MASKED)
	}
	x.d.DisableINTx()
	x.setControl(x.control() &^ MSIX_CTRL_FUNCTION_MASK)
}

// Disable turns MSI-X off and lets the function assert INTx# again.
func (x *MSIX) Disable() {
	x.setControl(x.control() &^ (MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK))
	x.d.EnableINTx()
}

// Enabled reports whether MSI-X is on.
func (x *MSIX) Enabled() bool { return x.control()&MSIX_CTRL_ENABLE != 0 }

func (x *MSIX) check(entry int) error {
	if entry < 0 || entry >= x.TableSize {
		return fmt.Errorf("%v: MSI-X entry %d outside the %d-entry table: %w", x.d.Addr, entry, x.TableSize, ErrMSIMessage)
	}
	return nil
}

func (x *MSIX) entryOffset(entry int, reg uint32) uint32 {
	return x.Table.Offset + uint32(entry)*MSIX_ENTRY_SIZE + reg
}

func (x *MSIX) writeEntry(entry int, reg, val uint32) {
	x.table.Write32(x.entryOffset(entry, reg), val)
}

func (x *MSIX) readEntry(entry int, reg uint32) uint32 {
	return x.table.Read32(x.entryOffset(entry, reg))
}

// Set masks entry and programs its message (address, data); Unmask then
// lets it fire. Changing a live entry's message while it is unmasked
// could send a torn one, hence the mask.
func (x *MSIX) Set(entry int, addr uint64, data uint32) error {
	if err := x.Mask(entry); err != nil {
		return err
	}
	x.writeEntry(entry, MSIX_ENTRY_ADDR_LO, uint32(addr))
	x.writeEntry(entry, MSIX_ENTRY_ADDR_HI, uint32(addr>>32))
	x.writeEntry(entry, MSIX_ENTRY_DATA, data)
	return nil
}

// Mask stops entry's messages; the function sets its pending bit instead
// of sending one.
func (x *MSIX) Mask(entry int) error { return x.setMasked(entry, true) }

// Unmask lets entry's messages through; a pending one is sent.
func (x *MSIX) Unmask(entry int) error { return x.setMasked(entry, false) }

func (x *MSIX) setMasked(entry int, masked bool) error {
	if err := x.check(entry); err != nil {
		return err
	}
	// The other Vector Control bits are reserved: keep what reads back.
	v := x.readEntry(entry, MSIX_ENTRY_VECTOR_CTRL) &^ MSIX_VECTOR_CTRL_MASKED
	if masked {
		v |= MSIX_VECTOR_CTRL_MASKED
	}
	x.writeEntry(entry, MSIX_ENTRY_VECTOR_CTRL, v)
	return nil
}

// Masked reports whether entry is masked.
func (x *MSIX) Masked(entry int) (bool, error) {
	if err := x.check(entry); err != nil {
		return false, err
	}
	return x.readEntry(entry, MSIX_ENTRY_VECTOR_CTRL)&MSIX_VECTOR_CTRL_MASKED != 0, nil
}

// Pending reports entry's bit in the Pending Bit Array: a message held
// back while the entry (or the function) was masked.
func (x *MSIX) Pending(entry int) (bool, error) {
	if err := x.check(entry); err != nil {
		return false, err
	}
	// The PBA is read as dwords: bit i of the array is bit i%32 of
	// dword i/32.
	v := x.pba.Read32(x.PBA.Offset + uint32(entry/32)*4)
	return v>>(entry%32)&1 != 0, nil
}
