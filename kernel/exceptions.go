//go:build tamago

package kernel

import (
	"runtime"

	"tamanet/board"
)

// nmiVector stays with the amd64 package, which uses NMIs to acknowledge
// interrupts on multiprocessor boards.
const nmiVector = 2

// installExceptionGates hands the CPU exceptions to the runtime
// (runtime.ExceptionGate), which decides, as Linux's signal handlers do for
// a Go program, whether a fault becomes a panic or ends the program.
//
// A fault in ordinary Go code, in a goroutine running with interrupts
// enabled, becomes a panic in that goroutine, which recover stops (net/http
// does for its handlers):
//   - a page fault (#PF) below address 0x1000: "runtime error: invalid
//     memory address or nil pointer dereference";
//   - a divide error (#DE): "runtime error: integer divide by zero";
//   - an x87 or SIMD floating-point exception (#MF, #XM), which Go code
//     leaves masked: "runtime error: floating point error";
//   - a page fault at any other address, a general protection fault (#GP,
//     such as a non-canonical address), a stack-segment fault (#SS) or an
//     alignment check (#AC) (and #OF, #BR, which 64-bit code cannot raise),
//     only in a goroutine that called debug.SetPanicOnFault(true);
//     otherwise, as on Linux, the runtime prints "unexpected fault address"
//     and ends the program with "fatal error: fault".
//
// Every other fault ends the program with status 2 (board.Exit: QEMU's
// status 5 through isa-debug-exit; without it the CPU halts with
// interrupts off):
//   - a fault in an interrupt handler registered with RequestIRQ: the panic
//     is not recovered, as the device may be left half serviced with its
//     line asserted; the kernel names the handler above the panic;
//   - a fault the runtime cannot turn into a panic, for which it prints
//     "fatal:", the exception and why, the stacks and the registers: one
//     with interrupts disabled, in the runtime (allocating, scheduling,
//     holding a runtime lock), on the system stack, in a trap handler or
//     where the stack cannot grow, and, wherever they happen, the
//     exceptions Go code does not cause: invalid opcode (#UD), breakpoint
//     (#BP), debug (#DB), device not available (#NM), double fault (#DF),
//     invalid TSS (#TS), segment not present (#NP), machine check (#MC),
//     virtualization (#VE), control protection (#CP) and reserved vectors.
//
// Two cases never reach the runtime. An NMI (vector 2) stays with the
// amd64 package, which takes it for its own inter-processor signal: it
// acknowledges the local APIC and returns, so an NMI from outside is
// ignored. An exception the CPU cannot deliver because the stack is
// unusable (the gates do not switch stacks) becomes a double and then a
// triple fault, which resets the machine: under QEMU's -no-reboot, an exit
// with status 0 and no message.
//
// kernelcheck (kernel/kernelcheck) provokes one fault of each kind in QEMU: faults (#PF,
// #DE, and #GP with SetPanicOnFault, recovered), gpfault (#GP without it),
// udfault (#UD), clifault (interrupts off) and irqfault (interrupt
// handler).
func installExceptionGates() {
	for v := range 32 {
		if v != nmiVector {
			board.SetGate(uint8(v), runtime.ExceptionGate(v))
		}
	}
}
