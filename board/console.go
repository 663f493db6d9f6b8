//go:build tamago

package board

import _ "unsafe" // for go:linkname

// COM1, a 16550 UART. QEMU's needs no baud-rate setup; polling the
// transmit-holding-register-empty bit keeps output in order.
const (
	com1    = 0x3f8
	uartLSR = 5
	lsrTHRE = 1 << 5
)

//go:linkname printk runtime/goos.Printk
//go:nosplit
func printk(c byte) {
	for inb(com1+uartLSR)&lsrTHRE == 0 {
	}
	outb(com1, c)
}
