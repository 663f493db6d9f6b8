//go:build tamago

#include "textflag.h"

// XMM register i holds the quadwords XLO(i) (low) and XHI(i) (high),
// sign-extended 32-bit immediates so that the loop can compare them with
// CMPQ while every general register holds a canary (registers.go's
// xmmCanary computes the same values).
#define XLO(i) $(0x11110000+i)
#define XHI(i) $(-0x22220000-i)

// LOADX puts XMM register i's canary in X through the scratch slot at 0(SP).
#define LOADX(X, i) MOVQ XLO(i), AX; MOVQ AX, 0(SP); MOVQ XHI(i), AX; MOVQ AX, 8(SP); MOVOU 0(SP), X

// CHECKX compares XMM register i with its canary, spilling it to 0(SP).
#define CHECKX(X, i) MOVOU X, 0(SP); CMPQ 0(SP), XLO(i); JNE changed; CMPQ 8(SP), XHI(i); JNE changed

// SEENX stores XMM register i in xmmSeen.
#define SEENX(X, i) MOVOU X, ·xmmSeen+(16*i)(SB)

// func holdRegisters(iterations uint64) (changed bool)
//
// Every general register but SP and every XMM register holds a canary
// while the loop compares them all with their canaries, iterations times.
// On the first difference the registers go to gprSeen and xmmSeen and it
// returns true. R14 and X15, which Go's internal ABI reserves (g, zero), are
// free in assembly: the ABI0 wrapper restores them for the caller.
TEXT ·holdRegisters(SB),NOSPLIT,$24-9
	MOVQ	iterations+0(FP), AX
	MOVQ	AX, 16(SP)	// the loop counter
	LOADX(X0, 0)
	LOADX(X1, 1)
	LOADX(X2, 2)
	LOADX(X3, 3)
	LOADX(X4, 4)
	LOADX(X5, 5)
	LOADX(X6, 6)
	LOADX(X7, 7)
	LOADX(X8, 8)
	LOADX(X9, 9)
	LOADX(X10, 10)
	LOADX(X11, 11)
	LOADX(X12, 12)
	LOADX(X13, 13)
	LOADX(X14, 14)
	LOADX(X15, 15)
	MOVQ	·gprCanary+0(SB), AX
	MOVQ	·gprCanary+8(SB), BX
	MOVQ	·gprCanary+16(SB), CX
	MOVQ	·gprCanary+24(SB), DX
	MOVQ	·gprCanary+32(SB), SI
	MOVQ	·gprCanary+40(SB), DI
	MOVQ	·gprCanary+48(SB), BP	// the epilogue restores the caller's
	MOVQ	·gprCanary+56(SB), R8
	MOVQ	·gprCanary+64(SB), R9
	MOVQ	·gprCanary+72(SB), R10
	MOVQ	·gprCanary+80(SB), R11
	MOVQ	·gprCanary+88(SB), R12
	MOVQ	·gprCanary+96(SB), R13
	MOVQ	·gprCanary+104(SB), R14
	MOVQ	·gprCanary+112(SB), R15
loop:
	CMPQ	AX, ·gprCanary+0(SB)
	JNE	changed
	CMPQ	BX, ·gprCanary+8(SB)
	JNE	changed
	CMPQ	CX, ·gprCanary+16(SB)
	JNE	changed
	CMPQ	DX, ·gprCanary+24(SB)
	JNE	changed
	CMPQ	SI, ·gprCanary+32(SB)
	JNE	changed
	CMPQ	DI, ·gprCanary+40(SB)
	JNE	changed
	CMPQ	BP, ·gprCanary+48(SB)
	JNE	changed
	CMPQ	R8, ·gprCanary+56(SB)
	JNE	changed
	CMPQ	R9, ·gprCanary+64(SB)
	JNE	changed
	CMPQ	R10, ·gprCanary+72(SB)
	JNE	changed
	CMPQ	R11, ·gprCanary+80(SB)
	JNE	changed
	CMPQ	R12, ·gprCanary+88(SB)
	JNE	changed
	CMPQ	R13, ·gprCanary+96(SB)
	JNE	changed
	CMPQ	R14, ·gprCanary+104(SB)
	JNE	changed
	CMPQ	R15, ·gprCanary+112(SB)
	JNE	changed
	CHECKX(X0, 0)
	CHECKX(X1, 1)
	CHECKX(X2, 2)
	CHECKX(X3, 3)
	CHECKX(X4, 4)
	CHECKX(X5, 5)
	CHECKX(X6, 6)
	CHECKX(X7, 7)
	CHECKX(X8, 8)
	CHECKX(X9, 9)
	CHECKX(X10, 10)
	CHECKX(X11, 11)
	CHECKX(X12, 12)
	CHECKX(X13, 13)
	CHECKX(X14, 14)
	CHECKX(X15, 15)
	DECQ	16(SP)
	JNZ	loop
	MOVB	$0, changed+8(FP)
	RET
changed:
	MOVQ	AX, ·gprSeen+0(SB)
	MOVQ	BX, ·gprSeen+8(SB)
	MOVQ	CX, ·gprSeen+16(SB)
	MOVQ	DX, ·gprSeen+24(SB)
	MOVQ	SI, ·gprSeen+32(SB)
	MOVQ	DI, ·gprSeen+40(SB)
	MOVQ	BP, ·gprSeen+48(SB)
	MOVQ	R8, ·gprSeen+56(SB)
	MOVQ	R9, ·gprSeen+64(SB)
	MOVQ	R10, ·gprSeen+72(SB)
	MOVQ	R11, ·gprSeen+80(SB)
	MOVQ	R12, ·gprSeen+88(SB)
	MOVQ	R13, ·gprSeen+96(SB)
	MOVQ	R14, ·gprSeen+104(SB)
	MOVQ	R15, ·gprSeen+112(SB)
	SEENX(X0, 0)
	SEENX(X1, 1)
	SEENX(X2, 2)
	SEENX(X3, 3)
	SEENX(X4, 4)
	SEENX(X5, 5)
	SEENX(X6, 6)
	SEENX(X7, 7)
	SEENX(X8, 8)
	SEENX(X9, 9)
	SEENX(X10, 10)
	SEENX(X11, 11)
	SEENX(X12, 12)
	SEENX(X13, 13)
	SEENX(X14, 14)
	SEENX(X15, 15)
	MOVB	$1, changed+8(FP)
	RET
