//go:build tamago

#include "textflag.h"

// func disableInterrupts()
TEXT ·disableInterrupts(SB),NOSPLIT|NOFRAME,$0-0
	CLI
	RET

// func haltForever()
TEXT ·haltForever(SB),NOSPLIT|NOFRAME,$0-0
	CLI
halt:
	HLT
	JMP	halt
