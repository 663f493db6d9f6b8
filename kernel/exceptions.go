//go:build tamago

package kernel

import (
	"runtime"

	"tamanet/board"
)

// nmiVector stays with the amd64 package, which uses NMIs to acknowledge
// interrupts on multiprocessor boards.
const nmiVector = 2

// installExceptionGates hands the CPU exceptions to the runtime, which
// turns a fault in ordinary Go code into a panic (runtime error: invalid
// memory address or nil pointer dereference, integer divide by zero) and
// reports any other fault with both stacks and the registers before
// exiting.
func installExceptionGates() {
	for v := range 32 {
		if v != nmiVector {
			board.SetGate(uint8(v), runtime.ExceptionGate(v))
		}
	}
}
