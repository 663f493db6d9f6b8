//go:build tamago

#include "textflag.h"

// func faultWithInterruptsOff()
TEXT ·faultWithInterruptsOff(SB),NOSPLIT,$0
	CLI
	MOVQ	$0, AX
	MOVQ	8(AX), AX	// page 0 is unmapped: #PF with IF clear
	STI
	RET

// func invalidOpcode()
TEXT ·invalidOpcode(SB),NOSPLIT,$0
	BYTE	$0x0f; BYTE $0x0b	// UD2: #UD
	RET
