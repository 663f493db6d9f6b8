//go:build tamago

#include "textflag.h"

// func mmioRead8(addr uintptr) uint8
TEXT ·mmioRead8(SB),NOSPLIT,$0-9
	MOVQ	addr+0(FP), BX
	MOVB	(BX), AX
	MOVB	AX, ret+8(FP)
	RET

// func mmioRead16(addr uintptr) uint16
TEXT ·mmioRead16(SB),NOSPLIT,$0-10
	MOVQ	addr+0(FP), BX
	MOVW	(BX), AX
	MOVW	AX, ret+8(FP)
	RET

// func mmioRead32(addr uintptr) uint32
TEXT ·mmioRead32(SB),NOSPLIT,$0-12
	MOVQ	addr+0(FP), BX
	MOVL	(BX), AX
	MOVL	AX, ret+8(FP)
	RET

// func mmioWrite8(addr uintptr, val uint8)
TEXT ·mmioWrite8(SB),NOSPLIT,$0-9
	MOVQ	addr+0(FP), BX
	MOVB	val+8(FP), AX
	MOVB	AX, (BX)
	RET

// func mmioWrite16(addr uintptr, val uint16)
TEXT ·mmioWrite16(SB),NOSPLIT,$0-10
	MOVQ	addr+0(FP), BX
	MOVW	val+8(FP), AX
	MOVW	AX, (BX)
	RET

// func mmioWrite32(addr uintptr, val uint32)
TEXT ·mmioWrite32(SB),NOSPLIT,$0-12
	MOVQ	addr+0(FP), BX
	MOVL	val+8(FP), AX
	MOVL	AX, (BX)
	RET
