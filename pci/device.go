package pci

import (
	"fmt"
	"strconv"
)

// Configuration header registers common to all header types (PCI 3.0
// section 6.1, figure 6-1), named as in the specification.
const (
	VENDOR_ID       = 0x00
	DEVICE_ID       = 0x02
	COMMAND         = 0x04
	STATUS          = 0x06
	REVISION_ID     = 0x08
	CLASS_CODE      = 0x09 // 3 bytes: programming interface, sub-class, base class
	CACHE_LINE_SIZE = 0x0C
	LATENCY_TIMER   = 0x0D
	HEADER_TYPE     = 0x0E
	BIST            = 0x0F
	BASE_ADDRESS_0  = 0x10 // first Base Address Register; each is 4 bytes
	INTERRUPT_LINE  = 0x3C
	INTERRUPT_PIN   = 0x3D
)

// Type 0 (device) header registers.
const (
	SUBSYSTEM_VENDOR_ID  = 0x2C
	SUBSYSTEM_ID         = 0x2E
	EXPANSION_ROM_BASE   = 0x30
	CAPABILITIES_POINTER = 0x34
)

// CARDBUS_CAPABILITY_PTR is where the CardBus (type 2) header keeps its
// Capabilities Pointer.
const CARDBUS_CAPABILITY_PTR = 0x14

// Type 1 (PCI-to-PCI bridge) header registers (PCI-to-PCI Bridge
// Architecture Specification 1.2, section 3.2).
const (
	PRIMARY_BUS_NUMBER     = 0x18
	SECONDARY_BUS_NUMBER   = 0x19
	SUBORDINATE_BUS_NUMBER = 0x1A
)

// Command register bits (PCI 3.0 section 6.2.2).
const (
	COMMAND_IO_SPACE     = 1 << 0
	COMMAND_MEMORY_SPACE = 1 << 1
	COMMAND_BUS_MASTER   = 1 << 2
	COMMAND_INTX_DISABLE = 1 << 10 // "Interrupt Disable"
)

const (
	commandDecode        = COMMAND_IO_SPACE | COMMAND_MEMORY_SPACE
	headerTypeLayoutMask = 0x7F
	// vendorAbsent is what a read of a function that does not exist
	// returns; vendorNeverAssigned is treated the same: the PCI-SIG never
	// assigned it, and some boards return it for an empty slot.
	vendorAbsent        = 0xFFFF
	vendorNeverAssigned = 0x0000
	// interruptLineUnknown is the Interrupt Line value for "no connection"
	// (PCI 3.0 section 6.2.4, x86 convention).
	interruptLineUnknown = 0xFF
	maxInterruptPin      = 4
	// Number of Base Address Registers in each header layout.
	barCountDevice  = 6
	barCountBridge  = 2
	barCountCardBus = 1
)

// Status register bits (PCI 3.0 section 6.2.3).
const (
	STATUS_INTERRUPT_STATUS  = 1 << 3
	STATUS_CAPABILITIES_LIST = 1 << 4
)

// Header Type register values (PCI 3.0 section 6.2.1).
const (
	HEADER_TYPE_DEVICE         = 0x00
	HEADER_TYPE_BRIDGE         = 0x01
	HEADER_TYPE_CARDBUS        = 0x02
	HEADER_TYPE_MULTI_FUNCTION = 0x80
)

// Base classes used by this package (PCI Code and ID Assignment
// Specification).
const (
	ClassBridge = 0x06
	// SubclassHostBridge, under ClassBridge, is the host bridge: its
	// memory decode is never switched off, since main memory may sit
	// behind it.
	SubclassHostBridge = 0x00
	// SubclassPCIBridge, under ClassBridge, is a PCI-to-PCI bridge.
	SubclassPCIBridge = 0x04
)

// Address names one function: bus, device (0-31) and function (0-7).
type Address struct {
	Bus, Device, Function uint8
}

// String formats a as lspci does: "bb:dd.f" in hexadecimal.
func (a Address) String() string {
	return fmt.Sprintf("%02x:%02x.%x", a.Bus, a.Device, a.Function)
}

// Device is one PCI function as found by Enumerate. The identification
// fields are a snapshot of configuration space taken during enumeration;
// the methods read and write the live registers.
type Device struct {
	Addr Address

	VendorID, DeviceID uint16
	// BaseClass, SubClass and ProgIF are the three bytes of the Class
	// Code register.
	BaseClass, SubClass, ProgIF uint8
	RevisionID                  uint8
	// HeaderType is the header layout (HEADER_TYPE_DEVICE, _BRIDGE or
	// _CARDBUS), without the multi-function bit.
	HeaderType    uint8
	MultiFunction bool

	// SubsystemVendorID and SubsystemID are read from type 0 headers only.
	SubsystemVendorID, SubsystemID uint16

	// InterruptLine is what firmware wrote to the Interrupt Line register
	// (0xFF: not connected or unknown); InterruptPin is 0 for none or 1-4
	// for INTA#-INTD#.
	InterruptLine, InterruptPin uint8

	// BARs holds the implemented Base Address Registers in register order.
	// A 64-bit BAR occupies two registers and appears once.
	BARs []BAR
	// Capabilities is the capability list in list order.
	Capabilities []Capability

	// PrimaryBus, SecondaryBus and SubordinateBus are the bridge's bus
	// numbers (type 1 headers only).
	PrimaryBus, SecondaryBus, SubordinateBus uint8
	// Parent is the bridge this function sits behind; nil on bus 0.
	Parent *Device

	// Err holds what went wrong decoding this function's BARs or
	// capability list; the rest of the record is still valid.
	Err error

	// Driver is the name of the driver Bus.Probe bound to this function,
	// "" if none. ProbeErr holds the errors returned by drivers that
	// matched but failed to probe.
	Driver   string
	ProbeErr error

	cs  ConfigSpace
	bus *Bus // nil for a Device not found by Enumerate
}

// Read32 reads the dword at off of this function's configuration space.
func (d *Device) Read32(off uint8) uint32 {
	return d.cs.Read32(d.Addr.Bus, d.Addr.Device, d.Addr.Function, off)
}

// Write32 writes the dword at off of this function's configuration space.
func (d *Device) Write32(off uint8, val uint32) {
	d.cs.Write32(d.Addr.Bus, d.Addr.Device, d.Addr.Function, off, val)
}

// Read16 reads the aligned 16-bit register at off.
func (d *Device) Read16(off uint8) uint16 {
	return Read16(d.cs, d.Addr.Bus, d.Addr.Device, d.Addr.Function, off)
}

// Read8 reads the byte register at off.
func (d *Device) Read8(off uint8) uint8 {
	return Read8(d.cs, d.Addr.Bus, d.Addr.Device, d.Addr.Function, off)
}

// Write16 writes the 16-bit register at off; see the package function
// Write16 for the read-modify-write caveat.
func (d *Device) Write16(off uint8, val uint16) {
	Write16(d.cs, d.Addr.Bus, d.Addr.Device, d.Addr.Function, off, val)
}

// Write8 writes the byte register at off; see the package function Write16
// for the read-modify-write caveat.
func (d *Device) Write8(off uint8, val uint8) {
	Write8(d.cs, d.Addr.Bus, d.Addr.Device, d.Addr.Function, off, val)
}

// Command returns the live Command register.
func (d *Device) Command() uint16 {
	return d.Read16(COMMAND)
}

// Status returns the live Status register.
func (d *Device) Status() uint16 {
	return d.Read16(STATUS)
}

// SetCommand writes the Command register. Status shares its dword and has
// write-one-to-clear bits, so the Status half is written as zero, which
// leaves it unchanged.
func (d *Device) SetCommand(cmd uint16) {
	d.Write32(COMMAND, uint32(cmd))
}

// updateCommand sets the bits in set and clears those in clear, and
// returns the previous value. It writes only when the value changes.
func (d *Device) updateCommand(set, clear uint16) uint16 {
	old := d.Command()
	if cmd := old&^clear | set; cmd != old {
		d.SetCommand(cmd)
	}
	return old
}

// EnableMemory lets the function respond to its memory BARs.
func (d *Device) EnableMemory() { d.updateCommand(COMMAND_MEMORY_SPACE, 0) }

// EnableIO lets the function respond to its I/O BARs.
func (d *Device) EnableIO() { d.updateCommand(COMMAND_IO_SPACE, 0) }

// EnableBusMaster lets the function start DMA.
func (d *Device) EnableBusMaster() { d.updateCommand(COMMAND_BUS_MASTER, 0) }

// DisableINTx stops the function asserting its INTx# pin (for MSI or
// polled operation).
func (d *Device) DisableINTx() { d.updateCommand(COMMAND_INTX_DISABLE, 0) }

// EnableINTx lets the function assert its INTx# pin again.
func (d *Device) EnableINTx() { d.updateCommand(0, COMMAND_INTX_DISABLE) }

// IsBridge reports whether the function is a PCI-to-PCI bridge (type 1
// header).
func (d *Device) IsBridge() bool { return d.HeaderType == HEADER_TYPE_BRIDGE }

// PinName returns "A"-"D" for INTA#-INTD#, "" for no pin, and the number
// in decimal for a value the specification does not define.
func (d *Device) PinName() string {
	return pinName(d.InterruptPin)
}

func pinName(pin uint8) string {
	switch {
	case pin == 0:
		return ""
	case pin <= maxInterruptPin:
		return string(rune('A' + pin - 1))
	}
	return strconv.Itoa(int(pin))
}

// GSI returns the firmware's record of where the function's INTx# pin
// arrives: its Interrupt Line register, an ISA IRQ on a PC, whose I/O APIC
// input, trigger mode and polarity come from the platform (ACPI MADT).
// Firmware can be wrong (qboot is, on QEMU -M pc, for any slot but 3):
// route interrupts with INTx, which asks the chipset, and let
// Bus.RouteINTx correct the register. ok is false when the function has no
// pin, the pin is out of range, or firmware left the line as 0xFF.
func (d *Device) GSI() (gsi uint32, ok bool) {
	if d.InterruptPin == 0 || d.InterruptPin > maxInterruptPin ||
		d.InterruptLine == interruptLineUnknown {
		return 0, false
	}
	return uint32(d.InterruptLine), true
}
