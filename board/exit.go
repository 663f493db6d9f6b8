//go:build tamago

package board

// QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=4)
// ends QEMU with status (v<<1)|1 when v is written to its port.
const debugExitPort = 0xf4

// Exit ends the program; it is also the runtime's exit (goos.Exit). It
// leaves QEMU through isa-debug-exit, whose status is (code<<1)|1. A
// machine without that device cannot report a status: Exit disables
// interrupts, so that nothing else runs from then on (the timer tick would
// let other goroutines go on serving after the program ended), says so on
// the console, asks for ACPI soft-off (S5) if the firmware described it,
// and halts the CPU for good. QEMU acts on the S5 request asynchronously,
// while the CPU is halted.
//
// The runtime calls Exit after a fatal error, possibly from a trap handler
// with interrupts off, so Exit neither allocates nor blocks: the soft-off
// port and sleep type come from the last ReadACPI (the kernel reads the
// tables at Init). Once interrupts are off it calls only nosplit functions,
// which never stop to let the scheduler run another goroutine.
//
//go:nosplit
func Exit(code int32) {
	outl(debugExitPort, uint32(code))
	// QEMU exits inside that write if the device is there.
	disableInterrupts()
	consoleString("board: exit status ")
	consoleInt(code)
	consoleString(" not reported: no isa-debug-exit; ")
	s := softOff
	if s.ok {
		consoleString("ACPI soft-off requested, ")
	}
	// The whole line goes out before the soft-off request: QEMU may power
	// off before the CPU reaches another instruction.
	consoleString("CPU halted with interrupts off\n")
	if s.ok {
		outw(s.port, s.typ<<pm1SlpTypShift|pm1SlpEn)
	}
	haltForever()
}

// consoleString writes s to the console.
//
//go:nosplit
func consoleString(s string) {
	for i := 0; i < len(s); i++ {
		printk(s[i])
	}
}

// consoleInt writes v in decimal to the console.
//
//go:nosplit
func consoleInt(v int32) {
	var buf [11]byte
	i := len(buf)
	u := uint32(v)
	if v < 0 {
		u = -u
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		if u /= 10; u == 0 {
			break
		}
	}
	if v < 0 {
		i--
		buf[i] = '-'
	}
	for ; i < len(buf); i++ {
		printk(buf[i])
	}
}

// disableInterrupts clears the interrupt flag (exit_amd64.s).
func disableInterrupts()

// haltForever halts the CPU with interrupts disabled, halting again after
// anything that wakes it anyway (an NMI); it never returns (exit_amd64.s).
func haltForever()
