//go:build tamago && linkcpuinit

#include "textflag.h"

// cpuinit replaces the tamago amd64 package's CPU start-up (build tag
// linkcpuinit) for PVH boots on QEMU's pc, q35 and microvm machines.
//
// A PVH loader enters in 32-bit protected mode, paging off, interrupts off,
// with %ebx holding the physical address of hvm_start_info. Before anything
// can enable interrupts this code remaps the 8259 PICs away from the CPU
// exception vectors and masks them (SeaBIOS leaves the PIT ticking on IRQ0,
// which would arrive as a double fault). It identity-maps the first 4 GiB
// with 2 MiB pages (4 KiB pages in the first 2 MiB, so that the board can
// unmap page 0 and make nil dereferences fault; 3-4 GiB uncached for MMIO),
// enters long mode,
// takes the runtime's RAM size from the PVH memory map and starts the
// runtime.
//
// Until the far return into 64-bit mode the code runs as 32-bit code, so it
// uses only instructions that encode the same in both modes: no 64-bit
// operands, no R8-R15, no RIP-relative memory operands. %ebx is preserved.

#define GDT        0x100000	// 3 descriptors, then the GDTR at +0x20
#define PML4       0x101000
#define PDPT       0x102000
#define PD         0x103000	// 4 tables: 0-4 GiB in 2 MiB pages
#define PT         0x107000	// 0-2 MiB in 4 KiB pages
#define BOOT_STACK 0x109000	// grows down over 0x108000-0x108fff
#define IDT        0x109000	// 256 gates, filled by the amd64 package
#define TABLES_END 0x10a000

#define PTE_P   0x01
#define PTE_RW  0x02
#define PTE_PWT 0x08
#define PTE_PCD 0x10
#define PTE_PS  0x80

#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR4_PAE  0x20

#define PVH_MAGIC 0x336ec578
#define E820_RAM  1
#define MIN_RAM   (64<<20)	// for the runtime from RamStart

TEXT cpuinit(SB),NOSPLIT|NOFRAME,$0
	CLI
	// The TSC at the firmware's hand-off, kept in SI:BP (which nothing
	// below touches) until 64-bit mode can store it.
	RDTSC
	MOVL	AX, SI
	MOVL	DX, BP
	MOVL	$BOOT_STACK, SP

	// 8259 PICs: ICW1-4 put IRQ0-15 on vectors 0x20-0x2f, then mask all.
	MOVL	$0x11, AX
	MOVL	$0x20, DX
	OUTB
	MOVL	$0xa0, DX
	OUTB
	MOVL	$0x20, AX
	MOVL	$0x21, DX
	OUTB
	MOVL	$0x28, AX
	MOVL	$0xa1, DX
	OUTB
	MOVL	$0x04, AX
	MOVL	$0x21, DX
	OUTB
	MOVL	$0x02, AX
	MOVL	$0xa1, DX
	OUTB
	MOVL	$0x01, AX
	MOVL	$0x21, DX
	OUTB
	MOVL	$0xa1, DX
	OUTB
	MOVL	$0xff, AX
	MOVL	$0x21, DX
	OUTB
	MOVL	$0xa1, DX
	OUTB

	// Clear the GDT and page tables.
	MOVL	$GDT, DI
	MOVL	$(TABLES_END-GDT), CX
	XORL	AX, AX
	CLD
	REP;	STOSB

		// GDT: null, 64-bit code (0x08), data (0x10); GDTR limit 0x17.
	// Then an empty IDT's IDTR at +0x30, loaded in 64-bit mode: the
	// amd64 package fills the IDT the CPU points at.
	MOVL	$(GDT+0x30), DI
	MOVL	$(0x0fff|(IDT&0xffff)<<16), (DI)
	MOVL	$(GDT+0x34), DI
	MOVL	$(IDT>>16), (DI)
	MOVL	$(GDT+0x0c), DI
	MOVL	$0x00209a00, (DI)
	MOVL	$(GDT+0x14), DI
	MOVL	$0x00009200, (DI)
	MOVL	$(GDT+0x20), DI
	MOVL	$0x17, (DI)
	MOVL	$(GDT+0x24), DI
	MOVL	$(GDT>>16), (DI)

	// PML4[0] -> PDPT; PDPT[0..3] -> the four page directories.
	MOVL	$PML4, DI
	MOVL	$(PDPT|PTE_RW|PTE_P), (DI)
	MOVL	$PDPT, DI
	MOVL	$(PD|PTE_RW|PTE_P), AX
	MOVL	$4, CX
pdpt:
	MOVL	AX, (DI)
	ADDL	$0x1000, AX
	ADDL	$8, DI
	DECL	CX
	JNZ	pdpt

	// PD[i] maps 2 MiB at i<<21; from 3 GiB on, uncached.
	MOVL	$PD, DI
	MOVL	$(PTE_PS|PTE_RW|PTE_P), AX
	MOVL	$2048, CX
pd:
	CMPL	CX, $512
	JA	cached
	ORL	$(PTE_PCD|PTE_PWT), AX
cached:
	MOVL	AX, (DI)
	ADDL	$(1<<21), AX
	ADDL	$8, DI
	DECL	CX
	JNZ	pd

	// PD[0] -> PT: 4 KiB pages for 0-2 MiB. Page 0 holds the PVH start
	// info on some machines: the board unmaps it once it has read it.
	MOVL	$PD, DI
	MOVL	$(PT|PTE_RW|PTE_P), (DI)
	MOVL	$PT, DI
	MOVL	$(PTE_RW|PTE_P), AX
	MOVL	$512, CX
pt:
	MOVL	AX, (DI)
	ADDL	$0x1000, AX
	ADDL	$8, DI
	DECL	CX
	JNZ	pt

	// Long mode: PAE, page tables, EFER.LME, then paging.
	MOVL	CR4, AX
	ORL	$CR4_PAE, AX
	MOVL	AX, CR4
	MOVL	$PML4, AX
	MOVL	AX, CR3
	MOVL	$MSR_EFER, CX
	RDMSR
	ORL	$EFER_LME, AX
	WRMSR
	MOVL	CR0, AX
	ORL	$0x80000001, AX	// PG | PE
	MOVL	AX, CR0

	MOVL	$(GDT+0x20), AX
	LGDT	(AX)

	// Far return to start64 through the 64-bit code descriptor. Its
	// address is PC-relative: LEAL yields the displacement only in
	// 32-bit mode, so add the address of the end of the LEAL (6 bytes).
	CALL	·getpc<>(SB)
	LEAL	·start64<>(SB), CX
	ADDL	$6, AX
	ADDL	CX, AX
	PUSHQ	$0x08
	PUSHQ	AX
	RETFQ

// func installRDRANDGate()
// installRDRANDGate points the invalid-opcode vector (6) at rdrandUD.
TEXT ·installRDRANDGate(SB),NOSPLIT,$0
	MOVQ	$·rdrandUD<>(SB), AX
	MOVQ	$(IDT+6*16), DI
	MOVW	AX, 0(DI)	// offset 15:0
	MOVW	$0x08, 2(DI)	// 64-bit code selector
	MOVW	$0x8e00, 4(DI)	// present, DPL 0, interrupt gate, IST 0
	SHRQ	$16, AX
	MOVW	AX, 6(DI)	// offset 31:16
	SHRQ	$16, AX
	MOVL	AX, 8(DI)	// offset 63:32
	MOVL	$0, 12(DI)
	RET

// rdrandUD handles #UD on CPUs without RDRAND by emulating RDRAND EAX
// (0F C7 F0), the only form the tamago amd64 RNG executes: EAX gets 32 bits
// of a xorshift64* generator stirred with the TSC at every call, CF is set
// and execution resumes after the instruction. This is not a cryptographic
// source; the board warns at boot. Any other invalid opcode goes to the
// runtime's exception gate (udFallback), or is fatal before there is one.
TEXT ·rdrandUD<>(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	BX
	PUSHQ	CX
	PUSHQ	DX
	// Frame: DX, CX, BX, then the CPU's RIP, CS, RFLAGS, RSP, SS.
	MOVQ	24(SP), BX
	MOVL	(BX), CX
	ANDL	$0xffffff, CX
	CMPL	CX, $0xf0c70f
	JNE	badopcode
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	XORQ	·rdrandState(SB), AX
	MOVQ	AX, CX
	SHRQ	$12, CX
	XORQ	CX, AX
	MOVQ	AX, CX
	SHLQ	$25, CX
	XORQ	CX, AX
	MOVQ	AX, CX
	SHRQ	$27, CX
	XORQ	CX, AX
	MOVQ	AX, ·rdrandState(SB)
	MOVQ	$0x2545f4914f6cdd1d, CX
	IMULQ	CX, AX
	SHRQ	$32, AX	// high half: the best bits; writing EAX clears the rest
	ADDQ	$3, 24(SP)	// past RDRAND EAX
	ORQ	$1, 40(SP)	// CF: a random value was returned
	POPQ	DX
	POPQ	CX
	POPQ	BX
	IRETQ
badopcode:
	// Any other invalid opcode is the runtime's to report (SIGILL), once
	// the kernel installed its exception gates.
	CMPQ	·udFallback(SB), $0
	JEQ	nofallback
	POPQ	DX
	POPQ	CX
	POPQ	BX
	PUSHQ	·udFallback(SB)
	JMP	·jumpToTop<>(SB)
nofallback:
	MOVQ	$badOpcodeMessage<>(SB), SI
	JMP	·die<>(SB)

// jumpToTop jumps to the address on top of the stack, popping it: the
// runtime's gate then sees the CPU's frame as the CPU pushed it.
TEXT ·jumpToTop<>(SB),NOSPLIT|NOFRAME,$0
	RET

// func unmapPage0()
TEXT ·unmapPage0(SB),NOSPLIT,$0
	MOVQ	$PT, AX
	MOVQ	$0, (AX)
	XORL	AX, AX
	BYTE	$0x0f; BYTE $0x01; BYTE $0x38	// INVLPG (AX)
	RET

// getpc returns its return address in AX (32-bit and 64-bit alike).
TEXT ·getpc<>(SB),NOSPLIT|NOFRAME,$0
	MOVL	(SP), AX
	RET

TEXT ·start64<>(SB),NOSPLIT|NOFRAME,$0
	// Data segments from our GDT: IRETQ pops SS, which must be valid.
	MOVL	$0x10, AX
	BYTE	$0x8e; BYTE $0xd8	// MOVW AX, DS
	BYTE	$0x8e; BYTE $0xc0	// MOVW AX, ES
	BYTE	$0x8e; BYTE $0xd0	// MOVW AX, SS
	MOVQ	$BOOT_STACK, SP
	MOVQ	$(GDT+0x30), AX
	LIDT	(AX)
	MOVL	BX, BX	// zero-extend the start_info address
	MOVQ	BX, ·pvhStartInfo(SB)
	MOVL	SI, SI	// zero-extend both halves of the hand-off TSC
	MOVL	BP, BP
	SHLQ	$32, BP
	ORQ	SI, BP
	MOVQ	BP, ·handoffTSC(SB)

	CALL	sse_enable(SB)

	// The tamago amd64 package's RNG (runtime/goos.GetRandomData) uses
	// RDRAND unconditionally. Without it, emulate the instruction from the
	// invalid-opcode handler (see rdrandUD).
	MOVL	$1, AX
	CPUID
	BTL	$30, CX
	JCS	ram
	MOVB	$1, ·rdrandEmulated(SB)
	CALL	·installRDRANDGate(SB)

ram:

	// RamSize: the E820 RAM range holding RamStart, up to 4 GiB.
	MOVQ	·pvhStartInfo(SB), R8
	CMPL	0(R8), $PVH_MAGIC
	JNE	noram
	CMPL	4(R8), $1	// version 1 has the memory map
	JB	noram
	MOVQ	40(R8), R9	// memmap_paddr
	MOVL	48(R8), R10	// memmap_entries
	MOVQ	runtime∕goos·RamStart(SB), R11
entry:
	TESTL	R10, R10
	JZ	noram
	CMPL	16(R9), $E820_RAM
	JNE	next
	MOVQ	0(R9), AX
	CMPQ	AX, R11
	JHI	next	// starts above RamStart
	ADDQ	8(R9), AX
	CMPQ	AX, R11
	JLS	next	// ends at or below RamStart
	MOVQ	$0x100000000, CX
	CMPQ	AX, CX
	JLS	capped
	MOVQ	CX, AX	// only 4 GiB are mapped
capped:
	SUBQ	R11, AX
	CMPQ	AX, $MIN_RAM
	JCS	noram
	MOVQ	AX, runtime∕goos·RamSize(SB)
	JMP	stack
next:
	ADDQ	$24, R9
	DECL	R10
	JMP	entry

stack:
	MOVQ	runtime∕goos·RamStart(SB), SP
	ADDQ	runtime∕goos·RamSize(SB), SP
	SUBQ	runtime∕goos·RamStackOffset(SB), SP
	JMP	_rt0_tamago_start(SB)

noram:
	MOVQ	$noRAMMessage<>(SB), SI
	JMP	·die<>(SB)

// die says why (the NUL-terminated message at SI) on COM1 and leaves QEMU
// through isa-debug-exit (status 255).
TEXT ·die<>(SB),NOSPLIT|NOFRAME,$0
say:
	MOVBLZX	(SI), AX
	TESTL	AX, AX
	JZ	fail
	MOVL	$0x3f8, DX
	OUTB
	INCQ	SI
	JMP	say
fail:
	MOVL	$0x7f, AX
	MOVL	$0xf4, DX
	OUTL
	HLT
	JMP	fail

DATA noRAMMessage<>+0(SB)/8, $"tamanet:"
DATA noRAMMessage<>+8(SB)/8, $" the PVH"
DATA noRAMMessage<>+16(SB)/8, $" memory "
DATA noRAMMessage<>+24(SB)/8, $"map has "
DATA noRAMMessage<>+32(SB)/8, $"less tha"
DATA noRAMMessage<>+40(SB)/8, $"n 64 MiB"
DATA noRAMMessage<>+48(SB)/8, $" of RAM "
DATA noRAMMessage<>+56(SB)/8, $"from Ram"
DATA noRAMMessage<>+64(SB)/8, $"Start (0"
DATA noRAMMessage<>+72(SB)/8, $"x1000000"
DATA noRAMMessage<>+80(SB)/8, $"0): give"
DATA noRAMMessage<>+88(SB)/8, $" QEMU mo"
DATA noRAMMessage<>+96(SB)/8, $"re (-m 1"
DATA noRAMMessage<>+104(SB)/8, $"G)\r\n\x00\x00\x00\x00"
GLOBL noRAMMessage<>(SB), RODATA, $112

DATA badOpcodeMessage<>+0(SB)/8, $"tamanet:"
DATA badOpcodeMessage<>+8(SB)/8, $" invalid"
DATA badOpcodeMessage<>+16(SB)/8, $" opcode\r"
DATA badOpcodeMessage<>+24(SB)/8, $"\n\x00\x00\x00\x00\x00\x00\x00"
GLOBL badOpcodeMessage<>(SB), RODATA, $32
