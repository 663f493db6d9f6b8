//go:build tamago

package board

// QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=4)
// ends QEMU with status (v<<1)|1 when v is written to its port.
const debugExitPort = 0xf4

// Exit leaves QEMU through isa-debug-exit: QEMU's exit status is
// (code<<1)|1. Without the device it falls back to halting forever.
func Exit(code int32) {
	outl(debugExitPort, uint32(code))
	for {
		// Without isa-debug-exit there is nowhere to go.
	}
}
