//go:build tamago

package board

import "fmt"

// The boot page tables (cpuinit_amd64.s) map [3 GiB, 4 GiB) uncached: that
// is where firmware places 32-bit PCI memory BARs on QEMU's machines (and
// where microvm puts its virtio-mmio transports, from 0xFEB00000), and the
// only window where device registers may be accessed.
const (
	mmioStart = 3 << 30
	mmioEnd   = 4 << 30
)

// The accessors are single MOVs of their width in mmio_amd64.s, so the
// compiler can neither merge, split, reorder nor drop a register access.
func mmioRead8(addr uintptr) uint8
func mmioRead16(addr uintptr) uint16
func mmioRead32(addr uintptr) uint32
func mmioWrite8(addr uintptr, val uint8)
func mmioWrite16(addr uintptr, val uint16)
func mmioWrite32(addr uintptr, val uint32)

// MMIO is a window of memory-mapped device registers, accessed 8, 16 or 32
// bits at a time with naturally aligned accesses (virtio's common
// configuration mixes the three widths). It satisfies the e1000 driver's
// Registers interface and virtio.Window.
type MMIO struct {
	base, size uint64
}

// MMIO32 is the name the e1000's users know MMIO by.
type MMIO32 = MMIO

// MapMMIO returns the register window [addr, addr+size). It must lie in the
// uncached MMIO range and be 4-byte aligned.
func MapMMIO(addr, size uint64) (MMIO, error) {
	if addr%4 != 0 || size == 0 || addr < mmioStart || addr > mmioEnd || size > mmioEnd-addr {
		return MMIO{}, fmt.Errorf("board: MMIO window %#x+%#x outside the uncached range [%#x, %#x)",
			addr, size, uint64(mmioStart), uint64(mmioEnd))
	}
	return MMIO{base: addr, size: size}, nil
}

// Base returns the window's physical address.
func (m MMIO) Base() uint64 { return m.base }

// addr checks a width-byte access at off and returns its address. An
// unaligned offset or one outside the window is a driver bug, and writing
// to whatever lies beyond could corrupt another device, so it panics.
func (m MMIO) addr(off, width uint32) uintptr {
	if off%width != 0 || uint64(off)+uint64(width) > m.size {
		panic(fmt.Sprintf("board: MMIO offset %#x (%d bytes) outside window %#x+%#x", off, width, m.base, m.size))
	}
	return uintptr(m.base + uint64(off))
}

// Read8 reads the byte register at off.
func (m MMIO) Read8(off uint32) uint8 { return mmioRead8(m.addr(off, 1)) }

// Read16 reads the 16-bit register at off.
func (m MMIO) Read16(off uint32) uint16 { return mmioRead16(m.addr(off, 2)) }

// Read32 reads the 32-bit register at off.
func (m MMIO) Read32(off uint32) uint32 { return mmioRead32(m.addr(off, 4)) }

// Write8 writes the byte register at off.
func (m MMIO) Write8(off uint32, val uint8) { mmioWrite8(m.addr(off, 1), val) }

// Write16 writes the 16-bit register at off.
func (m MMIO) Write16(off uint32, val uint16) { mmioWrite16(m.addr(off, 2), val) }

// Write32 writes the 32-bit register at off.
func (m MMIO) Write32(off uint32, val uint32) { mmioWrite32(m.addr(off, 4), val) }
