package pci

import (
	"errors"
	"fmt"
)

// MSI capability registers, as offsets from the capability (PCI 3.0
// section 6.8.1). The 32-bit layout has Message Data right after the
// address; the 64-bit layout puts the upper address dword there and moves
// everything after it down by four.
const (
	MSI_CONTROL     = 0x02
	MSI_ADDRESS_LO  = 0x04
	MSI_ADDRESS_HI  = 0x08 // 64-bit layout only
	MSI_DATA_32     = 0x08
	MSI_DATA_64     = 0x0C
	MSI_MASK_32     = 0x0C // with per-vector masking
	MSI_MASK_64     = 0x10
	MSI_PENDING_32  = 0x10
	MSI_PENDING_64  = 0x14
	MSI_CTRL_ENABLE = 1 << 0
	// MSI_CTRL_MMC is Multiple Message Capable: log2 of the vectors the
	// function can use; MSI_CTRL_MME (Multiple Message Enable) is log2 of
	// those software granted.
	MSI_CTRL_MMC        = 0x7 << 1
	MSI_CTRL_MME        = 0x7 << 4
	MSI_CTRL_64BIT      = 1 << 7
	MSI_CTRL_PER_VECTOR = 1 << 8
)

// Errors from setting up message-signalled interrupts.
var (
	// ErrNoMSI is a function without the capability asked for.
	ErrNoMSI = errors.New("pci: no such message-signalled interrupt capability")
	// ErrMSIMessage is an address or data value the capability cannot
	// hold (a 64-bit address on a 32-bit capability, data above 16 bits),
	// or an entry number outside the table.
	ErrMSIMessage = errors.New("pci: message does not fit the capability")
	// ErrMSIXTable is an MSI-X table or PBA that no usable BAR holds.
	ErrMSIXTable = errors.New("pci: bad MSI-X table location")
)

// MSI is a function's MSI capability. It drives one vector: software may
// grant more only as a power-of-two block of consecutive data values, which
// nothing here needs.
type MSI struct {
	d   *Device
	off uint8
	// Is64 says the capability holds a 64-bit message address.
	Is64 bool
	// PerVectorMask says it has the Mask Bits and Pending Bits registers.
	PerVectorMask bool
	// Capable is how many vectors the function asks for (1 to 32).
	Capable int
}

// MSI returns the function's MSI capability, ErrNoMSI if it has none.
func (d *Device) MSI() (*MSI, error) {
	off, ok := d.FindCapability(CAP_ID_MSI)
	if !ok {
		return nil, fmt.Errorf("%v: MSI: %w", d.Addr, ErrNoMSI)
	}
	ctl := d.Read16(off + MSI_CONTROL)
	return &MSI{
		d: d, off: off,
		Is64:          ctl&MSI_CTRL_64BIT != 0,
		PerVectorMask: ctl&MSI_CTRL_PER_VECTOR != 0,
		Capable:       1 << min((ctl&MSI_CTRL_MMC)>>1, 5),
	}, nil
}

func (m *MSI) control() uint16 { return m.d.Read16(m.off + MSI_CONTROL) }

// The MSI capability's first dword is the read-only ID and next pointer
// beside Message Control, which has no write-one-to-clear bits, so
// Write16 is safe on it.
func (m *MSI) setControl(v uint16) { m.d.Write16(m.off+MSI_CONTROL, v) }

// Enable programs the message (address, data) for one vector, turns MSI
// on, and stops the function's INTx#. It also enables bus mastering: a
// message is a memory write the function makes.
func (m *MSI) Enable(addr uint64, data uint32) error {
	if addr>>32 != 0 && !m.Is64 {
		return fmt.Errorf("%v: MSI address %#x on a 32-bit capability: %w", m.d.Addr, addr, ErrMSIMessage)
	}
	if data>>16 != 0 {
		return fmt.Errorf("%v: MSI data %#x wider than 16 bits: %w", m.d.Addr, data, ErrMSIMessage)
	}
	m.d.updateCommand(COMMAND_BUS_MASTER|COMMAND_INTX_DISABLE, 0)
	// Program while disabled, with a single vector granted.
	m.setControl(m.control() &^ (MSI_CTRL_ENABLE | MSI_CTRL_MME))
	m.d.Write32(m.off+MSI_ADDRESS_LO, uint32(addr))
	dataReg := uint8(MSI_DATA_32)
	if m.Is64 {
		m.d.Write32(m.off+MSI_ADDRESS_HI, uint32(addr>>32))
		dataReg = MSI_DATA_64
	}
	// Message Data is 16 bits; the upper half of its dword is reserved
	// (or, on newer functions, Extended Message Data, off unless enabled).
	m.d.Write16(m.off+dataReg, uint16(data))
	m.setControl(m.control() | MSI_CTRL_ENABLE)
	return nil
}

// Disable turns MSI off and lets the function assert INTx# again.
func (m *MSI) Disable() {
	m.setControl(m.control() &^ MSI_CTRL_ENABLE)
	m.d.EnableINTx()
}

// Enabled reports whether MSI is on.
func (m *MSI) Enabled() bool { return m.control()&MSI_CTRL_ENABLE != 0 }

func (m *MSI) maskReg() (uint8, error) {
	if !m.PerVectorMask {
		return 0, fmt.Errorf("%v: MSI without per-vector masking: %w", m.d.Addr, ErrNoMSI)
	}
	if m.Is64 {
		return m.off + MSI_MASK_64, nil
	}
	return m.off + MSI_MASK_32, nil
}

// Mask stops the vector's messages; the function holds one back as
// pending instead. It fails without per-vector masking.
func (m *MSI) Mask() error { return m.setMask(true) }

// Unmask lets the vector's messages through again; one held back is sent.
func (m *MSI) Unmask() error { return m.setMask(false) }

func (m *MSI) setMask(masked bool) error {
	reg, err := m.maskReg()
	if err != nil {
		return err
	}
	v := m.d.Read32(reg) &^ 1
	if masked {
		v |= 1
	}
	m.d.Write32(reg, v)
	return nil
}

// Pending reports whether the function holds a message back for the masked
// vector. It fails without per-vector masking.
func (m *MSI) Pending() (bool, error) {
	reg, err := m.maskReg()
	if err != nil {
		return false, err
	}
	// Pending Bits follow Mask Bits.
	return m.d.Read32(reg+4)&1 != 0, nil
}
