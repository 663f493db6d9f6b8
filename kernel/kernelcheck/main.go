//go:build tamago

// Command kernelcheck exercises the board and kernel in QEMU; the kernel
// command line (QEMU -append) picks the check and the host test reads the
// console:
//
//	irq       PIT interrupts arrive through the I/O APIC, no faster than the PIT
//	storm     leave an e1000 level interrupt unacknowledged: the kernel
//	          must mask the line and the program go on
//	latched   assert an e1000 interrupt before its line is routed: the
//	          handler must still see it, and the next one
//	sleep     print a tick after each of five time.Sleep(1s), for the host's clock
//	wallclock print the wall clock Init set from the CMOS RTC, for the
//	          host to compare with its own
//	idle      sleep 12 s so the host can measure QEMU's CPU use
//	panic     panic: the stack goes to the console, QEMU exits non-zero
//	poweroff  leave through ACPI S5
//	sleepignored  request a sleep type QEMU ignores: the request must fail,
//	          and only after the whole bounded wait
//	rand      crypto/rand gives distinct, non-zero output (RDRAND or not)
//	entropy   key the random generator from a virtio-rng device (PCI or
//	          virtio-mmio) and check crypto/rand draws from it
//	virtioirq a virtio-rng request with queue interrupts on: the device's
//	          interrupt arrives on the line discovery named
//	faults    nil dereference, division by zero and, with
//	          debug.SetPanicOnFault, a general protection fault are
//	          recovered panics
//	gpfault   a general protection fault without SetPanicOnFault: fatal
//	udfault   an invalid opcode, which Go code cannot cause: fatal
//	preempt   a goroutine spinning without calls beside a 10 ms ticker
//	irqfault  a nil dereference in an interrupt handler: fatal, names it
//	clifault  a nil dereference with interrupts off: fatal, registers
//	          and both stacks on the console
//	registers device interrupts and the tick land in code that keeps a
//	          known value in every register: none may change
//	exit      board.Exit(3) beside a goroutine printing a heartbeat: on a
//	          machine without isa-debug-exit, nothing may run after it
//	msi       MSI from QEMU's edu device on a vector from kernel.RequestMSI
//	msix      MSI-X from an e1000e: two entries, each cause to its own
//	          handler, a masked entry pending until unmasked
package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"tamanet/board"
	"tamanet/kernel"
)

func main() {
	if err := kernel.Init(); err != nil {
		fmt.Println("kernelcheck: FAIL", err)
		board.Exit(1)
	}
	// The first word; microvm appends virtio_mmio.device= entries.
	check, _, _ := strings.Cut(strings.TrimSpace(board.CommandLine()), " ")
	fmt.Printf("kernelcheck: %s (TSC %d Hz)\n", check, board.TSCFrequency())
	var err error
	switch check {
	case "irq":
		err = checkIRQ()
	case "storm":
		err = checkStorm()
	case "latched":
		err = checkLatched()
	case "sleep":
		err = checkSleep()
	case "wallclock":
		err = checkWallClock()
	case "idle":
		fmt.Println("kernelcheck: idle start")
		time.Sleep(12 * time.Second)
		fmt.Printf("kernelcheck: idle end, %d halts\n", kernel.Halts())
	case "panic":
		var m map[string]int
		m["boom"]++ // assignment to entry in nil map
	case "poweroff":
		err = board.PowerOff()
	case "sleepignored":
		err = checkSleepIgnored()
	case "rand":
		err = checkRand()
	case "entropy":
		err = checkEntropy()
	case "virtioirq":
		err = checkVirtioIRQ()
	case "faults":
		err = checkFaults()
	case "preempt":
		err = checkPreempt()
	case "irqfault":
		if err = checkIRQFault(); err == nil {
			time.Sleep(5 * time.Second)
			err = fmt.Errorf("the faulting interrupt handler did not end the program")
		}
	case "registers":
		err = checkRegisters()
	case "clifault":
		faultWithInterruptsOff()
		err = fmt.Errorf("a fault with interrupts off did not end the program")
	case "gpfault":
		readNonCanonical()
		err = fmt.Errorf("a general protection fault did not end the program")
	case "udfault":
		invalidOpcode()
		err = fmt.Errorf("an invalid opcode did not end the program")
	case "msi":
		err = checkMSI()
	case "msix":
		err = checkMSIX()
	case "exit":
		exitBesideHeartbeat()
		err = fmt.Errorf("board.Exit returned")
	default:
		err = fmt.Errorf("unknown check %q", check)
	}
	if err != nil {
		fmt.Println("kernelcheck: FAIL", err)
		board.Exit(1)
	}
	fmt.Println("kernelcheck: PASS")
	board.Exit(0)
}

// checkIRQ counts the PIT's IRQ 0, which the board starts at boot running
// at 1193182/65536 Hz (18.2 Hz): interrupts must arrive (routing works),
// waited for with a bound, and never faster than the PIT makes them (none
// delivered twice). QEMU drops the PIT periods its main loop misses, which
// a loaded host makes it do (measured: 4 in 1 s at load average 18), so
// the rate has no floor.
func checkIRQ() error {
	const want, bound = 10, 20 * time.Second
	var n atomic.Uint64
	gsi, trig, pol := kernel.ISARoute(0)
	if err := kernel.RequestIRQ("pit", gsi, trig, pol, func() bool { n.Add(1); return true }); err != nil {
		return err
	}
	start := time.Now()
	for n.Load() < want {
		if time.Since(start) > bound {
			return fmt.Errorf("%d PIT interrupts in %v, want %d", n.Load(), bound, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	t0, n0 := time.Now(), n.Load()
	time.Sleep(time.Second)
	got, el := n.Load()-n0, time.Since(t0)
	fmt.Printf("kernelcheck: %d PIT interrupts in %v, then %d in %v on GSI %d (%v/%v), %d halts\n",
		want, took.Round(time.Millisecond), got, el.Round(time.Millisecond), gsi, trig, pol, kernel.Halts())
	// One period of slack for the window's edges.
	if limit := uint64(el.Seconds()*1193182/65536) + 1; got > limit {
		return fmt.Errorf("%d interrupts in %v, more than the PIT's %d", got, el, limit)
	}
	return nil
}

// e1000 registers the interrupt checks use (8254x manual 13.4).
const (
	e1000ICR = 0xc0
	e1000ICS = 0xc8
	e1000IMS = 0xd0
	e1000LSC = 1 << 2
)

// firstE1000 returns the first 82540EM with its memory BAR assigned and
// decoded, its registers, and where its INTx arrives.
func firstE1000() (regs unsafe.Pointer, gsi uint32, trig kernel.Trigger, pol kernel.Polarity, err error) {
	bus, err := board.EnumeratePCI(nil)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	for _, d := range bus.Devices {
		if d.VendorID != 0x8086 || d.DeviceID != 0x100e {
			continue
		}
		line, ok := d.GSI()
		if !ok {
			return nil, 0, 0, 0, fmt.Errorf("e1000 has no interrupt line")
		}
		d.EnableMemory()
		gsi, trig, pol = kernel.ISARoute(uint8(line))
		return unsafe.Add(unsafe.Pointer(nil), uintptr(d.BARs[0].Addr)), gsi, trig, pol, nil
	}
	return nil, 0, 0, 0, fmt.Errorf("no e1000")
}

func reg(regs unsafe.Pointer, off uintptr) *uint32 { return (*uint32)(unsafe.Add(regs, off)) }

// checkLatched raises an e1000 interrupt (ICS) before RequestIRQ routes
// its line, as a NIC brought up before the kernel's routing does: the
// handler must be called for it, and for the next one.
func checkLatched() error {
	regs, gsi, trig, pol, err := firstE1000()
	if err != nil {
		return err
	}
	*reg(regs, e1000IMS) = e1000LSC
	*reg(regs, e1000ICS) = e1000LSC
	var n atomic.Uint64
	handler := func() bool {
		if *reg(regs, e1000ICR) == 0 { // the read acknowledges
			return false
		}
		n.Add(1)
		return true
	}
	if err := kernel.RequestIRQ("latched", gsi, trig, pol, handler); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	first := n.Load()
	*reg(regs, e1000ICS) = e1000LSC
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("kernelcheck: latched: %d interrupts seen for the cause raised before routing, %d in all (%v/%v)\n", first, n.Load(), trig, pol)
	if first != 1 || n.Load() != 2 {
		return fmt.Errorf("handler saw %d then %d interrupts, want 1 then 2", first, n.Load())
	}
	return nil
}

// checkStorm asserts an e1000's interrupt (ICS) and never reads ICR.
func checkStorm() error {
	regs, gsi, trig, pol, err := firstE1000()
	if err != nil {
		return err
	}
	if err := kernel.RequestIRQ("deaf", gsi, trig, pol, func() bool { return false }); err != nil {
		return err
	}
	*reg(regs, e1000IMS) = e1000LSC
	*reg(regs, e1000ICS) = e1000LSC
	time.Sleep(2 * time.Second)
	s := kernel.Stats()
	fmt.Printf("kernelcheck: storm stats %+v\n", s)
	for _, l := range s.Lines {
		if l.GSI == gsi && l.Disabled && l.Unhandled >= 1000 {
			return nil
		}
	}
	return fmt.Errorf("line %d not masked", gsi)
}

// ignoredSleepType is an SLP_TYP QEMU's PM1 control handler does nothing
// with: it acts on 0 (soft-off) and on its S4 value (2) only.
const ignoredSleepType = 7

// checkSleepIgnored requests a sleep the machine does not perform: the
// request must be reported as failed, and not before the wait that lets
// QEMU act on it asynchronously.
func checkSleepIgnored() error {
	a, err := board.ReadACPI()
	if err != nil {
		return err
	}
	const wait = 2 * time.Second
	start := time.Now()
	err = a.RequestSleep(ignoredSleepType, wait)
	elapsed := time.Since(start)
	fmt.Printf("kernelcheck: sleep type %d: %v, after %v\n", ignoredSleepType, err, elapsed.Round(time.Millisecond))
	if err == nil || elapsed < wait {
		return fmt.Errorf("the request was given up after %v, within the %v wait", elapsed, wait)
	}
	return nil
}

func checkRand() error {
	a, b := make([]byte, 32), make([]byte, 32)
	rand.Read(a)
	rand.Read(b)
	fmt.Printf("kernelcheck: rand %x %x (RDRAND emulated: %v)\n", a, b, board.RDRANDEmulated())
	if bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 32)) {
		return fmt.Errorf("crypto/rand repeats")
	}
	return nil
}
