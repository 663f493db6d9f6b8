//go:build tamago

// Package kernel brings up interrupt handling on the board: CPU exceptions
// (handed to the runtime, which turns faults in Go code into panics), the
// local and I/O APICs, an interrupt goroutine that runs driver handlers
// (never inside the raw interrupt service routine), the wall clock, the
// runtime's timer tick (preemption, CPU profiling) while the CPU is busy,
// and an idle governor that halts the CPU until the next interrupt or
// timer.
package kernel

import (
	"errors"
	"fmt"
	"os/signal"
	"runtime"
	"runtime/goos"
	"sync"

	"github.com/usbarmory/tamago/amd64"
	"github.com/usbarmory/tamago/amd64/lapic"

	"tamanet/board"
)

var (
	initOnce sync.Once
	initErr  error

	cpu  *amd64.CPU
	acpi *board.ACPI
)

// Init completes the board's clock calibration, sets the wall clock from
// the CMOS RTC (see RTCBoot), reads the ACPI tables, installs the
// exception and interrupt vectors, masks every I/O APIC input, starts the
// interrupt goroutine, the runtime's tick and the idle governor. It is
// idempotent.
func Init() error {
	initOnce.Do(func() { initErr = start() })
	return initErr
}

func start() error {
	// The LAPIC timer is measured against the board clock, which must run
	// at its real rate first.
	board.CalibrateClock()
	setWallClockFromRTC()
	var err error
	if acpi, err = board.ReadACPI(); err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	if len(acpi.IOAPICs) == 0 {
		return errors.New("kernel: no I/O APIC")
	}
	for _, io := range acpi.IOAPICs {
		ioapics = append(ioapics, newIOAPIC(io))
	}
	cpu = &amd64.CPU{LAPIC: &lapic.LAPIC{Base: acpi.LAPIC}}
	for _, io := range ioapics {
		io.maskAll()
	}
	// Also turns interrupts on (STI) once the IDT is ready.
	cpu.EnableExceptions()
	installExceptionGates()
	board.RestoreIDTGates()
	cpu.LAPIC.Enable()
	if err := calibrateLAPICTimer(); err != nil {
		return err
	}
	startTick()
	goos.Idle = idle
	go cpu.ServiceInterrupts(dispatch)
	// Until that goroutine has called signal.Notify, the amd64 package's
	// interrupt entry relays to nobody: the interrupt is dropped and its
	// vector stays in service, holding off every device vector below it,
	// until the goroutine's first end-of-interrupt. A level-triggered
	// line asserts again; an edge or a message is lost (measured: the
	// first MSI a driver raised right after Init). Wait for the receiver.
	for !signal.Waiting() {
		runtime.Gosched()
	}
	return nil
}
