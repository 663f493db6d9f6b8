//go:build tamago && linkcpuinit

package board

import "runtime"

// Without RDRAND the board emulates it (cpuinit_amd64.s): a xorshift64*
// generator stirred with the TSC on every call. It is never constant, but
// it is no cryptographic source.
var (
	rdrandEmulated bool
	rdrandState    uint64
	// udFallback is the runtime's invalid-opcode gate, where the
	// emulation sends every other invalid opcode.
	udFallback uintptr
)

// installRDRANDGate points the invalid-opcode vector at the emulation.
func installRDRANDGate()

// RDRANDEmulated reports whether random numbers come from the emulation.
func RDRANDEmulated() bool { return rdrandEmulated }

// RestoreIDTGates re-installs the board's own IDT entries after the amd64
// package or the kernel rewrote the table (CPU.EnableExceptions,
// runtime.ExceptionGate).
func RestoreIDTGates() {
	if rdrandEmulated {
		udFallback = runtime.ExceptionGate(invalidOpcodeVector)
		installRDRANDGate()
	}
}

// invalidOpcodeVector is #UD.
const invalidOpcodeVector = 6
