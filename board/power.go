//go:build tamago

package board

import (
	"errors"
	"fmt"
	"time"
)

// PM1 control register fields (ACPI 6.x, 4.8.3.2.1).
const (
	pm1SlpTypShift = 10      // SLP_TYP, bits 12:10
	pm1SlpEn       = 1 << 13 // SLP_EN
)

// sleepWait bounds how long PowerOff waits for the machine to act on its
// request. QEMU handles a sleep request in its main loop, asynchronously
// to the virtual CPU, which runs on meanwhile.
const sleepWait = 5 * time.Second

// softOff is where Exit asks for ACPI S5: the PM1a control port and the
// soft-off SLP_TYP, recorded by ReadACPI (ok false until a read found
// both). Exit may run where it cannot parse the tables (a fatal fault).
var softOff struct {
	port, typ uint16
	ok        bool
}

// rememberSoftOff records a's soft-off request for Exit.
func rememberSoftOff(a *ACPI) {
	if a.S5OK && a.PM1aControl != 0 {
		softOff.port, softOff.typ, softOff.ok = a.PM1aControl, a.S5Type, true
	}
}

// PowerOff enters ACPI S5 (soft-off), which ends QEMU with status 0. It
// returns only if the machine is still running sleepWait after the request.
func PowerOff() error {
	a, err := ReadACPI()
	if err != nil {
		return err
	}
	if !a.S5OK {
		return errors.New("acpi: no \\_S5 object")
	}
	return a.RequestSleep(a.S5Type, sleepWait)
}

// RequestSleep writes SLP_TYP typ with SLP_EN to the PM1a control block and
// waits up to timeout, sleeping (the idle governor halts the CPU), for the
// machine to act on it. It returns an error if the machine is still running
// then.
func (a *ACPI) RequestSleep(typ uint16, timeout time.Duration) error {
	if a.PM1aControl == 0 {
		return errors.New("acpi: no PM1a control block")
	}
	outw(a.PM1aControl, typ<<pm1SlpTypShift|pm1SlpEn)
	for start := time.Now(); time.Since(start) < timeout; {
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("acpi: still running %v after the request for sleep type %d", timeout, typ)
}
