package pci

import (
	"errors"
	"fmt"
)

// Capability IDs (PCI 3.0 appendix H) this project looks at.
const (
	CAP_ID_PM           = 0x01 // PCI Power Management Interface
	CAP_ID_VPD          = 0x03 // Vital Product Data
	CAP_ID_MSI          = 0x05 // Message Signaled Interrupts
	CAP_ID_PCIX         = 0x07 // PCI-X
	CAP_ID_VENDOR       = 0x09 // Vendor Specific
	CAP_ID_BRIDGE_SSVID = 0x0D // PCI Bridge Subsystem Vendor ID
	CAP_ID_PCIE         = 0x10 // PCI Express
	CAP_ID_MSIX         = 0x11 // MSI-X
)

// capFirstOffset is where the device-specific region, and so every
// capability, starts: a pointer below it points into the header.
const capFirstOffset = 0x40

// Errors found while walking a capability list; Device.Err wraps them.
var (
	// ErrCapabilityPointer is a pointer into the predefined header.
	ErrCapabilityPointer = errors.New("pci: capability pointer into the header")
	// ErrCapabilityLoop is a list that comes back to an entry already
	// visited.
	ErrCapabilityLoop = errors.New("pci: capability list loops")
)

// Capability is one entry of the capability list: its ID and the offset of
// its first byte (the ID itself) in configuration space.
type Capability struct {
	ID, Offset uint8
}

// String formats c as in the table: "<id>@<offset>" in hexadecimal.
func (c Capability) String() string {
	return fmt.Sprintf("%02x@%02x", c.ID, c.Offset)
}

// walkCapabilities follows the capability list from the Capabilities
// Pointer. Each entry's offset is visited at most once, which bounds the
// walk at 48 entries (the dwords from 0x40 to 0xFC); a loop or a pointer
// into the header ends it with an error, keeping the entries before.
func (d *Device) walkCapabilities() ([]Capability, error) {
	if d.Status()&STATUS_CAPABILITIES_LIST == 0 {
		return nil, nil
	}
	ptrReg := uint8(CAPABILITIES_POINTER)
	if d.HeaderType == HEADER_TYPE_CARDBUS {
		ptrReg = CARDBUS_CAPABILITY_PTR
	}
	var caps []Capability
	var seen [256 / 4]bool
	// The two low bits of every pointer are reserved (PCI 3.0 6.7).
	for ptr := d.Read8(ptrReg) &^ 3; ptr != 0; {
		if ptr < capFirstOffset {
			return caps, fmt.Errorf("pointer %#04x after %d capabilities: %w", ptr, len(caps), ErrCapabilityPointer)
		}
		if seen[ptr/4] {
			return caps, fmt.Errorf("back to %#04x after %d capabilities: %w", ptr, len(caps), ErrCapabilityLoop)
		}
		seen[ptr/4] = true
		v := d.Read32(ptr)
		caps = append(caps, Capability{ID: uint8(v), Offset: ptr})
		ptr = uint8(v>>8) &^ 3
	}
	return caps, nil
}

// FindCapability returns the offset of the first capability with the given
// ID, from the list recorded at enumeration.
func (d *Device) FindCapability(id uint8) (off uint8, ok bool) {
	for _, c := range d.Capabilities {
		if c.ID == id {
			return c.Offset, true
		}
	}
	return 0, false
}
