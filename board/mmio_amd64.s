//go:build tamago

#include "textflag.h"

// func mmioRead32(addr uintptr) uint32
TEXT ·mmioRead32(SB),NOSPLIT,$0-12
	MOVQ	addr+0(FP), BX
	MOVL	(BX), AX
	MOVL	AX, ret+8(FP)
	RET

// func mmioWrite32(addr uintptr, val uint32)
TEXT ·mmioWrite32(SB),NOSPLIT,$0-12
	MOVQ	addr+0(FP), BX
	MOVL	val+8(FP), AX
	MOVL	AX, (BX)
	RET
