//go:build tamago

package board

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
