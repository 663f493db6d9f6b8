//go:build tamago

// Package board supports QEMU's x86-64 machines for GOOS=tamago images
// booted through PVH (qemu -kernel): memory layout, serial console, a TSC
// clock calibrated against the 8254 PIT (which works under TCG, where the
// CPU reports no TSC frequency), and exit through isa-debug-exit.
//
// Importing the package installs the runtime/goos hooks; CPU start-up is
// the tamago amd64 package's.
package board

import (
	"runtime/goos"
	_ "unsafe" // for go:linkname

	_ "github.com/usbarmory/tamago/amd64" // CPU init, RNG, RAM start
)

// ramSize is the memory the runtime manages from the amd64 package's
// RamStart (0x10000000): cpuinit sets it from the PVH memory map.
//
//go:linkname ramSize runtime/goos.RamSize
var ramSize uint64

// runtimeUpTSC is the TSC when the runtime called Hwinit1: its heap and
// scheduler work, package initializers have not run yet.
var runtimeUpTSC uint64

// RuntimeUpTSC returns the TSC when the Go runtime had its heap and
// scheduler up and handed the board its hardware set-up (before package
// initializers and main).
func RuntimeUpTSC() uint64 { return runtimeUpTSC }

//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	runtimeUpTSC = rdtsc()
	// The PVH start info may live in page 0: copy what we need first.
	copyBootInfo()
	unmapPage0()
	if rdrandEmulated {
		print("board: WARNING: the CPU lacks RDRAND; random numbers come from a TSC-stirred xorshift64* (not for cryptography; QEMU: -cpu ...,+rdrand)\n")
	}
	beginCalibration()
	goos.Exit = Exit
	if err := initDMA(); err != nil {
		panic(err)
	}
}
