//go:build tamago

package kernel

import (
	"fmt"
	"sync/atomic"
)

// Message-signalled interrupts are memory writes a device makes to the
// local APIC's address range (Intel SDM vol. 3A, 11.11): the address names
// the destination APIC, the data the vector and how it is delivered.
const (
	MSI_ADDRESS_BASE       = 0xFEE00000
	MSI_ADDRESS_DEST_SHIFT = 12 // destination APIC ID, bits 19:12 (physical mode)
	// Data bits 10:8 (delivery mode: fixed = 0), 14 (level assert, unused
	// for edge) and 15 (trigger: edge = 0) are all zero: fixed delivery,
	// edge triggered; bits 7:0 are the vector.
	MSI_DATA_VECTOR = 0xFF
)

// MSIMessage is what a device writes to raise a message-signalled
// interrupt: MSI's Message Address and Data registers, or an MSI-X table
// entry.
type MSIMessage struct {
	Addr uint64
	Data uint32
}

// Vector returns the CPU vector the message raises.
func (m MSIMessage) Vector() int { return int(m.Data & MSI_DATA_VECTOR) }

// RequestMSI allocates a vector for a message-signalled interrupt and
// returns the message that raises it: fixed delivery, edge triggered, to
// this CPU's local APIC. fn runs on the interrupt goroutine for each
// message, as RequestIRQ's handlers do; the local APIC's end-of-interrupt
// follows. The caller programs the message into the device (pci.MSI.Enable,
// pci.MSIX.Set) and gives the vector back with ReleaseMSI once the device
// can no longer send it. Each call gets a vector of its own, so
// deliveries are counted per vector (Stats' MSI).
func RequestMSI(name string, fn func()) (MSIMessage, error) {
	if cpu == nil {
		return MSIMessage{}, fmt.Errorf("kernel: RequestMSI(%s) before Init", name)
	}
	l := &line{msi: true, trigger: Edge}
	hs := []*handler{{name: name, fn: func() bool { fn(); return true }}}
	l.handlers.Store(&hs)
	linesMu.Lock()
	defer linesMu.Unlock()
	if !installLine(l) {
		return MSIMessage{}, fmt.Errorf("kernel: out of vectors for MSI %s", name)
	}
	return MSIMessage{
		Addr: MSI_ADDRESS_BASE | uint64(cpu.LAPIC.ID())<<MSI_ADDRESS_DEST_SHIFT,
		Data: uint32(l.vector),
	}, nil
}

// ReleaseMSI frees the vector of a message RequestMSI returned. The device
// must no longer send it (its MSI disabled or its MSI-X entry masked): a
// message arriving afterwards is counted as spurious, or, once the vector
// is given out again, goes to its new owner.
func ReleaseMSI(m MSIMessage) error {
	v := m.Vector()
	linesMu.Lock()
	defer linesMu.Unlock()
	l := byVector[v].Load()
	if l == nil || !l.msi || m.Data != uint32(v) {
		return fmt.Errorf("kernel: ReleaseMSI(%#x, %#x): not a message RequestMSI gave", m.Addr, m.Data)
	}
	byVector[v].Store(nil)
	releasedMSI.Add(l.count.Load())
	return nil
}

// releasedMSI counts the messages of vectors given back, which keeps
// Stats' Total from going down.
var releasedMSI atomic.Uint64

// MSIStats counts one vector RequestMSI gave out.
type MSIStats struct {
	Name   string `json:"name" metric:"label"`
	Vector int    `json:"vector" metric:"label"`
	Count  uint64 `json:"count"`
}
