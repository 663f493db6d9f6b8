//go:build tamago

package main

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"tamanet/board"
	"tamanet/kernel"
)

// An interrupt can land between any two instructions, and the code it lands
// in may keep live values in any register: the runtime's memmove copies
// through X0-X15, crypto assembly uses R14. Every interrupt entry (the
// amd64 package's device interrupt path through os/signal.Relay, the
// runtime's timer tick) must therefore give every register back unchanged.
// checkRegisters makes interrupts land in code that holds a known value in
// every register. (A copy test would not do under QEMU's TCG, which takes
// interrupts only between translated blocks: memmove loads and stores X15
// within one.)

// PIT channel 0 (8254 datasheet): mode 2 (rate generator), low then high
// byte of the divisor.
const (
	pitBase          = 0x40
	pitChannel0      = 0
	pitCommand       = 3
	pitRateGenerator = 0b00_11_010_0
	pitHz            = 1193182
)

// interruptLoadHz is the device interrupt rate the checks run under: slow
// enough that, after the interrupt goroutine acknowledged one, the next
// lands in the code under test rather than in the acknowledgement.
const interruptLoadHz = 1000

// startInterruptLoad runs the PIT at interruptLoadHz and counts its
// interrupts, which arrive through the amd64 package's interrupt entry.
func startInterruptLoad() (*atomic.Uint64, error) {
	pit, err := board.MapIO(pitBase, 4)
	if err != nil {
		return nil, err
	}
	divisor := uint16(pitHz / interruptLoadHz)
	pit.Out8(pitCommand, pitRateGenerator)
	pit.Out8(pitChannel0, uint8(divisor))
	pit.Out8(pitChannel0, uint8(divisor>>8))
	var n atomic.Uint64
	gsi, trig, pol := kernel.ISARoute(0)
	err = kernel.RequestIRQ("pit-load", gsi, trig, pol, func() bool { n.Add(1); return true })
	return &n, err
}

// gprNames are the general registers holdRegisters keeps canaries in, in
// the order of gprCanary and gprSeen.
var gprNames = [...]string{"AX", "BX", "CX", "DX", "SI", "DI", "BP", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"}

var (
	gprCanary [len(gprNames)]uint64
	gprSeen   [len(gprNames)]uint64
	xmmSeen   [2 * 16]uint64 // X0-X15, low quadword first
)

func init() {
	for i := range gprCanary {
		gprCanary[i] = 0x5eed_0000_0000_0000 | uint64(i+1)*0x0101_0101_0101
	}
}

// xmmCanary is what holdRegisters keeps in XMM register i (the XLO and XHI
// macros of registers_amd64.s).
func xmmCanary(i int) (lo, hi uint64) {
	return uint64(0x11110000 + i), uint64(int64(-0x22220000 - i))
}

// holdRegisters keeps canaries in every register but SP while comparing
// them all, iterations times; it reports a difference (registers_amd64.s).
//
//go:noescape
func holdRegisters(iterations uint64) (changed bool)

// changedRegisters names the registers whose value in gprSeen/xmmSeen is
// not their canary.
func changedRegisters() string {
	var changed []string
	for i, name := range gprNames {
		if gprSeen[i] != gprCanary[i] {
			changed = append(changed, fmt.Sprintf("%s=%#x (want %#x)", name, gprSeen[i], gprCanary[i]))
		}
	}
	for i := range 16 {
		lo, hi := xmmCanary(i)
		if xmmSeen[2*i] != lo || xmmSeen[2*i+1] != hi {
			changed = append(changed, fmt.Sprintf("X%d=%#x:%#x (want %#x:%#x)", i, xmmSeen[2*i+1], xmmSeen[2*i], hi, lo))
		}
	}
	return strings.Join(changed, " ")
}

// checkRegisters runs holdRegisters in calls of 2 ms or more under the PIT's
// interrupts and the runtime's tick until 200 device interrupts were
// handled (or 30 s passed): a register any interrupt entry fails to restore
// shows up as a changed canary.
func checkRegisters() error {
	irqs, err := startInterruptLoad()
	if err != nil {
		return err
	}
	// Calls of 2 ms or more (the fastest of three, against host load):
	// an interrupt acknowledged between two calls is followed by the
	// next within the PIT's 1 ms period, inside a call.
	iterations := uint64(1000)
	for iterations < 1<<30 {
		fastest := time.Hour
		for range 3 {
			start := time.Now()
			if holdRegisters(iterations) {
				return fmt.Errorf("registers changed while calibrating: %s", changedRegisters())
			}
			fastest = min(fastest, time.Since(start))
		}
		if fastest >= 2*time.Millisecond {
			break
		}
		iterations *= 2
	}
	const want, bound = 200, 30 * time.Second
	ticks0, irqs0 := kernel.TickStats().Ticks, irqs.Load()
	start := time.Now()
	calls := 0
	for irqs.Load()-irqs0 < want && time.Since(start) < bound {
		if holdRegisters(iterations) {
			return fmt.Errorf("after %d calls (%d device interrupts, %d ticks): an interrupt changed %s",
				calls, irqs.Load()-irqs0, kernel.TickStats().Ticks-ticks0, changedRegisters())
		}
		calls++
		runtime.Gosched() // the interrupt goroutine acknowledges
	}
	n, ticks := irqs.Load()-irqs0, kernel.TickStats().Ticks-ticks0
	fmt.Printf("kernelcheck: registers unchanged over %d calls of %d iterations in %v: %d device interrupts, %d ticks\n",
		calls, iterations, time.Since(start).Round(time.Millisecond), n, ticks)
	if n < want {
		return fmt.Errorf("only %d device interrupts in %v, want %d", n, bound, want)
	}
	return nil
}
