package virtionet

import (
	"sync/atomic"

	"tamanet/virtio"
)

// devCounters are the device-level counters, updated without locks
// because the interrupt handlers take none.
type devCounters struct {
	interrupts, spurious, queueIRQs, configIRQs atomic.Uint64
	linkChanges, resets, txTimeouts, needsReset atomic.Uint64
	rearmRaces                                  atomic.Uint64
}

// HandleInterrupt services the device's one interrupt line (INTx, or a
// virtio-mmio interrupt), which other devices may share. It reads and
// acknowledges the interrupt status once and returns false if no cause
// was set, so the line can be offered to the next handler. A used buffer
// schedules a poll with the queues' interrupts suppressed; a
// configuration change updates the carrier.
func (d *Device) HandleInterrupt() bool {
	isr := d.t.AckInterrupt()
	if isr&(virtio.ISRQueue|virtio.ISRConfig) == 0 {
		d.dev.spurious.Add(1)
		return false
	}
	d.dev.interrupts.Add(1)
	if isr&virtio.ISRConfig != 0 {
		d.HandleConfigInterrupt()
	}
	if isr&virtio.ISRQueue != 0 {
		d.HandleQueueInterrupt()
	}
	return true
}

// HandleQueueInterrupt is the receive or transmit queue's interrupt
// (their MSI-X vectors with Config.MSIX): it asks the device to hold
// further queue interrupts and schedules a poll, which re-arms them when
// it completes.
func (d *Device) HandleQueueInterrupt() {
	d.dev.queueIRQs.Add(1)
	d.rxq.DisableInterrupts()
	d.napi.Schedule()
}

// HandleConfigInterrupt is a configuration change (its MSI-X vector with
// Config.MSIX): the link status may have changed, or the device may ask
// for a reset, which the watchdog carries out.
func (d *Device) HandleConfigInterrupt() {
	d.dev.configIRQs.Add(1)
	if d.t.Status()&statusNeedsReset != 0 {
		d.dev.needsReset.Add(1)
		d.setBroken(true)
		return
	}
	d.syncCarrier()
}

// Poll is the napi poll function: it reclaims finished transmit chains
// (waking a stopped queue) and takes up to budget received packets,
// returning how many it took. Interrupts stay suppressed while it runs.
func (d *Device) Poll(budget int) int {
	if !d.rxq.InterruptsDisabled() {
		// A re-arm and an interrupt crossed; suppress again for the
		// poll's duration.
		d.rxq.DisableInterrupts()
	}
	d.txClean()
	return d.rxClean(budget)
}

// EnableInterrupts re-arms the receive queue's interrupt, and the
// transmit queue's while it waits for room, each with a check for
// buffers used before the device saw the request: if there are, it
// schedules another poll instead of waiting for an interrupt that may
// never come (Linux's virtqueue_enable_cb_prepare and poll).
func (d *Device) EnableInterrupts() {
	if d.rxEnable() || d.txEnable() {
		d.dev.rearmRaces.Add(1)
		d.rxq.DisableInterrupts()
		d.napi.Schedule()
	}
}

func (d *Device) rxEnable() bool {
	d.rxMu.Lock()
	defer d.rxMu.Unlock()
	return d.rxq.EnableInterrupts()
}

func (d *Device) txEnable() bool {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	return d.txStopped && d.txq.EnableInterruptsDelayed()
}
