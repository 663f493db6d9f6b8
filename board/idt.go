//go:build tamago && linkcpuinit

package board

// idtBase is where cpuinit_amd64.s put the IDT (its IDT define); the
// tamago amd64 package fills it and the board replaces single gates.
const idtBase = 0x109000

// Interrupt gate fields (Intel SDM vol. 3A, 6.14.1: 64-bit IDT gate
// descriptors).
const (
	gateCodeSelector = 0x08   // the 64-bit code descriptor of cpuinit's GDT
	gateInterrupt    = 0x8e00 // present, DPL 0, interrupt gate (IF cleared), IST 0
)

// SetGate points IDT vector v at entry through an interrupt gate, so the
// handler starts with interrupts off on the interrupted stack. The gate is
// written while its vector cannot be raised (before the device or timer
// behind it is armed, or for an exception the writer itself cannot cause).
func SetGate(v uint8, entry uintptr) {
	gate := (*[4]uint32)(physical(idtBase + 16*uint64(v)))
	gate[0] = gateCodeSelector<<16 | uint32(entry&0xffff)
	gate[1] = uint32(entry&0xffff0000) | gateInterrupt
	gate[2] = uint32(entry >> 32)
	gate[3] = 0
}
