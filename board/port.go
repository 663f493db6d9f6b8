//go:build tamago

package board

import "fmt"

// x86 port I/O and the time stamp counter, in port_amd64.s.
func inb(port uint16) uint8
func outb(port uint16, val uint8)
func inw(port uint16) uint16
func outw(port uint16, val uint16)
func inl(port uint16) uint32
func outl(port uint16, val uint32)
func rdtsc() uint64

// PortIO is the CPU's I/O port space; it satisfies pci.PortIO, for PCI
// configuration mechanism #1.
type PortIO struct{}

// In32 reads a doubleword from port.
func (PortIO) In32(port uint16) uint32 { return inl(port) }

// Out32 writes a doubleword to port.
func (PortIO) Out32(port uint16, v uint32) { outl(port, v) }

// IOWindow is a device's window of I/O ports (an I/O BAR), accessed at
// offsets from its base; it satisfies virtio.Ports.
type IOWindow struct {
	base, size uint16
}

// MapIO returns the I/O window [base, base+size), which must lie in the
// 64 KiB port space.
func MapIO(base, size uint64) (IOWindow, error) {
	if size == 0 || base > 0xFFFF || size > 0x10000-base {
		return IOWindow{}, fmt.Errorf("board: I/O window %#x+%#x outside the port space", base, size)
	}
	return IOWindow{base: uint16(base), size: uint16(size - 1)}, nil
}

// port checks that a width-byte access at off is inside the window. An
// access outside it is a driver bug that could reach another device, so it
// panics.
func (w IOWindow) port(off, width uint16) uint16 {
	if off > w.size || width-1 > w.size-off {
		panic(fmt.Sprintf("board: I/O offset %#x (%d bytes) outside window %#x+%#x", off, width, w.base, uint32(w.size)+1))
	}
	return w.base + off
}

// In8 reads the byte at off.
func (w IOWindow) In8(off uint16) uint8 { return inb(w.port(off, 1)) }

// In16 reads the word at off.
func (w IOWindow) In16(off uint16) uint16 { return inw(w.port(off, 2)) }

// In32 reads the doubleword at off.
func (w IOWindow) In32(off uint16) uint32 { return inl(w.port(off, 4)) }

// Out8 writes the byte v at off.
func (w IOWindow) Out8(off uint16, v uint8) { outb(w.port(off, 1), v) }

// Out16 writes the word v at off.
func (w IOWindow) Out16(off uint16, v uint16) { outw(w.port(off, 2), v) }

// Out32 writes the doubleword v at off.
func (w IOWindow) Out32(off uint16, v uint32) { outl(w.port(off, 4), v) }
