//go:build tamago

#include "textflag.h"

// func armAndHalt(initial *uint32, counts uint32)
//
// armAndHalt writes the local APIC timer's initial count and halts, with
// interrupts off in between: a timer that expired before the HLT (the vCPU
// can be descheduled anywhere under emulation) would otherwise wake nothing
// and leave the CPU halted. STI holds interrupts off for one more
// instruction, so STI; HLT cannot lose one either. Like the amd64
// package's wfi it does not halt while an interrupt waits for the interrupt
// goroutine (irqLock).
TEXT ·armAndHalt(SB),NOSPLIT,$0-12
	CLI
	MOVQ	initial+0(FP), AX
	MOVL	counts+8(FP), BX
	MOVL	BX, (AX)
	MOVB	github·com∕usbarmory∕tamago∕amd64·irqLock(SB), CX
	CMPB	CX, $1
	JEQ	pending
	STI
	HLT
	RET
pending:
	STI
	RET
