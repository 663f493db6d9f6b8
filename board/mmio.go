//go:build tamago

package board

import "fmt"

// The boot page tables (cpuinit_amd64.s) map [3 GiB, 4 GiB) uncached: that
// is where firmware places 32-bit PCI memory BARs on QEMU's machines, and
// the only window where device registers may be accessed.
const (
	mmioStart = 3 << 30
	mmioEnd   = 4 << 30
)

// mmioRead32 and mmioWrite32 are single 32-bit MOVs in mmio_amd64.s, so the
// compiler can neither merge, split, reorder nor drop a register access.
func mmioRead32(addr uintptr) uint32
func mmioWrite32(addr uintptr, val uint32)

// MMIO32 is a window of memory-mapped device registers accessed 32 bits at
// a time. It satisfies the e1000 driver's Registers interface.
type MMIO32 struct {
	base, size uint64
}

// MapMMIO returns the register window [addr, addr+size). It must lie in the
// uncached MMIO range and be 4-byte aligned.
func MapMMIO(addr, size uint64) (MMIO32, error) {
	if addr%4 != 0 || size == 0 || addr < mmioStart || addr > mmioEnd || size > mmioEnd-addr {
		return MMIO32{}, fmt.Errorf("board: MMIO window %#x+%#x outside the uncached range [%#x, %#x)",
			addr, size, uint64(mmioStart), uint64(mmioEnd))
	}
	return MMIO32{base: addr, size: size}, nil
}

// Base returns the window's physical address.
func (m MMIO32) Base() uint64 { return m.base }

// addr checks off and returns the register's address. An offset outside
// the window is a driver bug, and writing to whatever lies beyond could
// corrupt another device, so it panics.
func (m MMIO32) addr(off uint32) uintptr {
	if off%4 != 0 || uint64(off)+4 > m.size {
		panic(fmt.Sprintf("board: MMIO offset %#x outside window %#x+%#x", off, m.base, m.size))
	}
	return uintptr(m.base + uint64(off))
}

// Read32 reads the register at off.
func (m MMIO32) Read32(off uint32) uint32 { return mmioRead32(m.addr(off)) }

// Write32 writes val to the register at off.
func (m MMIO32) Write32(off uint32, val uint32) { mmioWrite32(m.addr(off), val) }
