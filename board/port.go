//go:build tamago

package board

// x86 port I/O and the time stamp counter, in port_amd64.s.
func inb(port uint16) uint8
func outb(port uint16, val uint8)
func outl(port uint16, val uint32)
func rdtsc() uint64
