package pci

import "sync"

// ConfigSpace is 32-bit access to the configuration space of function fn of
// device dev on bus bus. off is a byte offset into the 256-byte header; the
// two low bits are ignored, as they are by the hardware, so every access is
// one aligned dword. A function that does not exist reads as all ones and
// ignores writes.
type ConfigSpace interface {
	Read32(bus, dev, fn uint8, off uint8) uint32
	Write32(bus, dev, fn uint8, off uint8, val uint32)
}

// Read16 returns the aligned 16-bit register at off (bit 0 of off ignored).
func Read16(cs ConfigSpace, bus, dev, fn, off uint8) uint16 {
	return uint16(cs.Read32(bus, dev, fn, off) >> (8 * (off & 2)))
}

// Read8 returns the byte register at off.
func Read8(cs ConfigSpace, bus, dev, fn, off uint8) uint8 {
	return uint8(cs.Read32(bus, dev, fn, off) >> (8 * (off & 3)))
}

// Write16 writes the aligned 16-bit register at off (bit 0 of off ignored)
// by read-modify-write of the dword holding it. The other half of the dword
// is written back with the value just read, so Write16 must not be used on
// a dword whose other half has write-one-to-clear bits (the Command/Status
// and I/O Base/Secondary Status dwords): it would clear them. Use Write32
// with zeros in that half instead, as the command helpers do.
func Write16(cs ConfigSpace, bus, dev, fn, off uint8, val uint16) {
	shift := 8 * (off & 2)
	old := cs.Read32(bus, dev, fn, off)
	cs.Write32(bus, dev, fn, off, old&^(0xFFFF<<shift)|uint32(val)<<shift)
}

// Write8 writes the byte register at off by read-modify-write of the dword
// holding it; the same caution about write-one-to-clear bits as for Write16
// applies.
func Write8(cs ConfigSpace, bus, dev, fn, off uint8, val uint8) {
	shift := 8 * (off & 3)
	old := cs.Read32(bus, dev, fn, off)
	cs.Write32(bus, dev, fn, off, old&^(0xFF<<shift)|uint32(val)<<shift)
}

// PortIO is 32-bit x86 port I/O, supplied by the board.
type PortIO interface {
	Out32(port uint16, v uint32)
	In32(port uint16) uint32
}

// Configuration mechanism #1 (PCI 3.0 section 3.2.2.3.2).
const (
	// CONFIG_ADDRESS is the port that selects bus, device, function and
	// register for the next CONFIG_DATA access.
	CONFIG_ADDRESS = 0xCF8
	// CONFIG_DATA is the port through which the selected dword is read or
	// written.
	CONFIG_DATA = 0xCFC
	// CONFIG_ADDRESS_ENABLE is bit 31 of CONFIG_ADDRESS; without it the
	// host bridge passes CONFIG_DATA accesses on as ordinary I/O.
	CONFIG_ADDRESS_ENABLE = 1 << 31
)

// MaxDevice and MaxFunction are the highest device and function numbers
// a bus can hold.
const (
	MaxDevice   = 31
	MaxFunction = 7
)

// Mechanism1 is ConfigSpace through configuration mechanism #1: the address
// goes to CONFIG_ADDRESS, the data through CONFIG_DATA. The two-step access
// is serialised by a mutex, so a Mechanism1 may be shared by goroutines.
type Mechanism1 struct {
	mu sync.Mutex
	io PortIO
}

// NewMechanism1 returns configuration access through io.
func NewMechanism1(io PortIO) *Mechanism1 {
	return &Mechanism1{io: io}
}

// address builds the CONFIG_ADDRESS value. ok is false for a device or
// function number the mechanism cannot encode: rather than letting it alias
// another function, the caller treats it as absent.
func address(bus, dev, fn, off uint8) (addr uint32, ok bool) {
	if dev > MaxDevice || fn > MaxFunction {
		return 0, false
	}
	return CONFIG_ADDRESS_ENABLE | uint32(bus)<<16 | uint32(dev)<<11 |
		uint32(fn)<<8 | uint32(off&0xFC), true
}

// Read32 implements ConfigSpace. An out-of-range dev or fn reads as all ones,
// like an absent function.
func (m *Mechanism1) Read32(bus, dev, fn, off uint8) uint32 {
	addr, ok := address(bus, dev, fn, off)
	if !ok {
		return 0xFFFFFFFF
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.io.Out32(CONFIG_ADDRESS, addr)
	return m.io.In32(CONFIG_DATA)
}

// Write32 implements ConfigSpace. A write to an out-of-range dev or fn is
// dropped, like a write to an absent function.
func (m *Mechanism1) Write32(bus, dev, fn, off uint8, val uint32) {
	addr, ok := address(bus, dev, fn, off)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.io.Out32(CONFIG_ADDRESS, addr)
	m.io.Out32(CONFIG_DATA, val)
}
