// Package protocol is what the pcicheck image and its host test agree on:
// the console lines around the PCI table, and the handshake that keeps the
// guest alive while the host reads QEMU's view of the same machine.
//
// The handshake goes through CONFIG_ADDRESS (port 0xCF8), the one register
// both sides can reach: the guest with 32-bit port I/O, the host with the
// QEMU monitor's "i" and "o" commands. After printing the table the guest
// writes Ready there and polls until it reads Go, which the host writes
// once it has queried the monitor. Both values leave the enable bit
// (bit 31) clear, so the host bridge starts no configuration cycle for
// them, and differ from anything configuration mechanism #1 writes.
package protocol

// Console lines around the table, each on a line of its own.
const (
	TableBegin = "pcicheck: table begin"
	TableEnd   = "pcicheck: table end"
)

// CONFIG_ADDRESS values of the handshake.
const (
	Ready = 0x005EAD00
	Go    = 0x00600D00
)
