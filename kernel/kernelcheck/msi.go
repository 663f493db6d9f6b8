//go:build tamago

package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"tamanet/board"
	"tamanet/kernel"
	"tamanet/pci"
)

// msiWait bounds every wait for a message-signalled interrupt: one that
// comes at all comes long before, however loaded the host.
const msiWait = 20 * time.Second

// findPCI returns the first function with the given IDs, its memory
// decoding on (MSI.Enable and MSIX.Enable turn bus mastering on).
func findPCI(vendor, device uint16) (*pci.Device, error) {
	bus, err := board.EnumeratePCI(nil)
	if err != nil {
		return nil, err
	}
	for _, d := range bus.Devices {
		if d.VendorID == vendor && d.DeviceID == device {
			d.EnableMemory()
			return d, nil
		}
	}
	return nil, fmt.Errorf("no PCI function %04x:%04x", vendor, device)
}

// mapBAR maps a whole memory BAR as registers.
func mapBAR(b pci.BAR) (pci.Registers, error) { return board.MapMMIO(b.Addr, b.Size) }

// waitCount waits, bounded, until n reaches want.
func waitCount(what string, n *atomic.Uint64, want uint64) error {
	for start := time.Now(); n.Load() < want; time.Sleep(time.Millisecond) {
		if time.Since(start) > msiWait {
			return fmt.Errorf("%s: %d interrupts after %v, want %d", what, n.Load(), msiWait, want)
		}
	}
	return nil
}

// msiCount returns how many messages Stats counted on vector v, and
// whether it lists the vector at all.
func msiCount(v int) (uint64, bool) {
	for _, m := range kernel.Stats().MSI {
		if m.Vector == v {
			return m.Count, true
		}
	}
	return 0, false
}

// QEMU's edu device (hw/misc/edu.c): a 32-bit interrupt status register;
// a write to raise ORs the value into it and sends an MSI (when enabled),
// a write to ack clears those bits.
const (
	eduVendor      = 0x1234
	eduDevice      = 0x11e8
	eduIRQStatus   = 0x24
	eduIRQRaise    = 0x60
	eduIRQAck      = 0x64
	eduRegsSize    = 0x100
	eduRaisedValue = 0x5a5a0001
)

// checkMSI enables the edu device's MSI on a vector from RequestMSI,
// raises its interrupt three times and checks that the handler saw each
// with the status raised, that Stats counted them on that vector, and that
// the function's INTx# is off meanwhile; then releases the vector. The
// first message comes before main ever blocked: the interrupt goroutine
// must be listening as soon as kernel.Init returns.
func checkMSI() error {
	d, err := findPCI(eduVendor, eduDevice)
	if err != nil {
		return err
	}
	regs, err := board.MapMMIO(d.BARs[0].Addr, eduRegsSize)
	if err != nil {
		return err
	}
	var n atomic.Uint64
	var status atomic.Uint32
	msg, err := kernel.RequestMSI("edu", func() {
		s := regs.Read32(eduIRQStatus)
		regs.Write32(eduIRQAck, s)
		status.Store(s)
		n.Add(1)
	})
	if err != nil {
		return err
	}
	m, err := d.MSI()
	if err != nil {
		return err
	}
	if err := m.Enable(msg.Addr, msg.Data); err != nil {
		return err
	}
	fmt.Printf("kernelcheck: msi: edu %v, 64-bit %v, per-vector mask %v, message %#x/%#x (vector %#x)\n",
		d.Addr, m.Is64, m.PerVectorMask, msg.Addr, msg.Data, msg.Vector())
	if d.Command()&pci.COMMAND_INTX_DISABLE == 0 {
		return fmt.Errorf("INTx still enabled with MSI on")
	}
	const raises = 3
	for i := uint64(1); i <= raises; i++ {
		regs.Write32(eduIRQRaise, eduRaisedValue)
		if err := waitCount("edu", &n, i); err != nil {
			return err
		}
		if s := status.Load(); s != eduRaisedValue {
			return fmt.Errorf("handler read status %#x, want %#x", s, eduRaisedValue)
		}
	}
	if c, ok := msiCount(msg.Vector()); c != raises || !ok {
		return fmt.Errorf("stats count %d on vector %#x (listed %v), want %d", c, msg.Vector(), ok, raises)
	}
	m.Disable()
	total := kernel.Stats().Total
	if err := kernel.ReleaseMSI(msg); err != nil {
		return err
	}
	if t := kernel.Stats().Total; t < total {
		return fmt.Errorf("stats total fell from %d to %d with the release", total, t)
	}
	if _, ok := msiCount(msg.Vector()); ok {
		return fmt.Errorf("vector %#x still listed after ReleaseMSI", msg.Vector())
	}
	if err := kernel.ReleaseMSI(msg); err == nil {
		return fmt.Errorf("a second ReleaseMSI of vector %#x succeeded", msg.Vector())
	}
	fmt.Printf("kernelcheck: msi: %d interrupts on vector %#x, released\n", n.Load(), msg.Vector())
	return nil
}

// QEMU's e1000e (82574L datasheet 10.2.4): interrupt causes the queues
// raise go, with MSI-X on, to the table entry IVAR names for each; writing
// ICS raises a cause, writing ICR clears it.
const (
	e1000eVendor = 0x8086
	e1000eDevice = 0x10d3
	e1000eICR    = 0xc0
	e1000eICS    = 0xc8
	e1000eIMS    = 0xd0
	e1000eIVAR   = 0xe4
	e1000eRXQ0   = 1 << 20
	e1000eTXQ0   = 1 << 22
	// IVAR fields: 3-bit entry number plus a valid bit, receive queue 0
	// in bits 3:0, transmit queue 0 in bits 11:8.
	ivarValid     = 1 << 3
	ivarTXQ0Shift = 8
	// Entries chosen apart from the causes' order, so a message on the
	// wrong entry shows.
	rxEntry = 3
	txEntry = 1
)

// checkMSIX programs two of the e1000e's MSI-X entries with vectors from
// RequestMSI and raises the two causes mapped to them: each handler must
// run for its own cause only. The transmit entry stays masked at first:
// its cause must set the entry's pending bit and deliver nothing until
// Unmask, which then delivers it.
func checkMSIX() error {
	d, err := findPCI(e1000eVendor, e1000eDevice)
	if err != nil {
		return err
	}
	regs, err := mapBAR(d.BARs[0])
	if err != nil {
		return err
	}
	x, err := d.MSIX(mapBAR)
	if err != nil {
		return err
	}
	var rx, tx atomic.Uint64
	handler := func(n *atomic.Uint64, cause uint32) func() {
		return func() {
			regs.Write32(e1000eICR, cause) // write one to clear
			n.Add(1)
		}
	}
	rxMsg, err := kernel.RequestMSI("e1000e-rx", handler(&rx, e1000eRXQ0))
	if err != nil {
		return err
	}
	txMsg, err := kernel.RequestMSI("e1000e-tx", handler(&tx, e1000eTXQ0))
	if err != nil {
		return err
	}
	x.Enable()
	if d.Command()&pci.COMMAND_INTX_DISABLE == 0 {
		return fmt.Errorf("INTx still enabled with MSI-X on")
	}
	if err := x.Set(rxEntry, rxMsg.Addr, rxMsg.Data); err != nil {
		return err
	}
	if err := x.Set(txEntry, txMsg.Addr, txMsg.Data); err != nil {
		return err
	}
	regs.Write32(e1000eIVAR, ivarValid|rxEntry|(ivarValid|txEntry)<<ivarTXQ0Shift)
	regs.Write32(e1000eIMS, e1000eRXQ0|e1000eTXQ0)
	if err := x.Unmask(rxEntry); err != nil {
		return err
	}
	fmt.Printf("kernelcheck: msix: e1000e %v, %d entries, table BAR%d+%#x, PBA BAR%d+%#x; rx entry %d vector %#x, tx entry %d vector %#x\n",
		d.Addr, x.TableSize, x.Table.BAR.Index, x.Table.Offset, x.PBA.BAR.Index, x.PBA.Offset,
		rxEntry, rxMsg.Vector(), txEntry, txMsg.Vector())

	regs.Write32(e1000eICS, e1000eRXQ0)
	if err := waitCount("rx", &rx, 1); err != nil {
		return err
	}
	// The masked transmit entry: the device holds the message as pending.
	regs.Write32(e1000eICS, e1000eTXQ0)
	if err := waitPending(x, txEntry); err != nil {
		return err
	}
	if tx.Load() != 0 {
		return fmt.Errorf("masked entry %d delivered", txEntry)
	}
	fmt.Printf("kernelcheck: msix: entry %d pending while masked, no interrupt\n", txEntry)
	if err := x.Unmask(txEntry); err != nil {
		return err
	}
	if err := waitCount("tx after unmask", &tx, 1); err != nil {
		return err
	}
	if p, _ := x.Pending(txEntry); p {
		return fmt.Errorf("entry %d still pending after delivery", txEntry)
	}
	// Both unmasked: each cause reaches its own handler once more.
	regs.Write32(e1000eICS, e1000eTXQ0)
	if err := waitCount("tx", &tx, 2); err != nil {
		return err
	}
	regs.Write32(e1000eICS, e1000eRXQ0)
	if err := waitCount("rx", &rx, 2); err != nil {
		return err
	}
	rc, _ := msiCount(rxMsg.Vector())
	tc, _ := msiCount(txMsg.Vector())
	fmt.Printf("kernelcheck: msix: rx handler %d, tx handler %d; stats rx vector %d, tx vector %d\n", rx.Load(), tx.Load(), rc, tc)
	if rx.Load() != 2 || tx.Load() != 2 || rc != 2 || tc != 2 {
		return fmt.Errorf("want two interrupts on each vector")
	}
	x.Disable()
	for _, m := range []kernel.MSIMessage{rxMsg, txMsg} {
		if err := kernel.ReleaseMSI(m); err != nil {
			return err
		}
	}
	return nil
}

// waitPending waits, bounded, for entry's pending bit.
func waitPending(x *pci.MSIX, entry int) error {
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		p, err := x.Pending(entry)
		if err != nil || p {
			return err
		}
		if time.Since(start) > msiWait {
			return fmt.Errorf("entry %d not pending after %v", entry, msiWait)
		}
	}
}
