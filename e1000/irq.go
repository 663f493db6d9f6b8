package e1000

import "sync/atomic"

// devCounters are the device-level counters, updated without locks because
// the interrupt handler takes none.
type devCounters struct {
	interrupts, spurious, lsc, rxo, resets, txTimeouts, linkChanges atomic.Uint64
	rctlWrites                                                      atomic.Uint64
}

// HandleInterrupt services the device's interrupt line. The kernel calls it
// from goroutine context each time the line fires. It reads ICR exactly once
// (the read clears it) and returns false if no cause was set, so a shared
// line can be offered to the next handler. A link change updates the carrier
// and tells the stack; receive and transmit causes are masked and a poll is
// scheduled, which re-enables them when it completes.
func (d *Device) HandleInterrupt() bool {
	icr := d.regs.Read32(ICR)
	if icr == 0 {
		d.dev.spurious.Add(1)
		return false
	}
	d.dev.interrupts.Add(1)
	if icr&ICR_RXO != 0 {
		// The ring overflowed; the poll below frees it. The device counts
		// the frames it lost in MPC.
		d.dev.rxo.Add(1)
	}
	if icr&ICR_LSC != 0 {
		d.dev.lsc.Add(1)
		d.syncCarrier()
	}
	// ICR reports causes whether or not they are enabled; only enabled
	// ones call for a poll.
	if icr&d.interruptCauses()&intrPoll != 0 {
		d.regs.Write32(IMC, intrPoll)
		d.napi.Schedule()
	}
	return true
}

// Poll is the napi poll function: it reclaims finished transmit descriptors
// (waking a stopped queue) and harvests up to budget receive descriptors,
// returning how many it harvested.
func (d *Device) Poll(budget int) int {
	d.txClean()
	return d.rxClean(budget)
}

// EnableInterrupts unmasks the causes HandleInterrupt masked. If one was
// latched meanwhile, the device interrupts again at once.
func (d *Device) EnableInterrupts() {
	d.regs.Write32(IMS, intrPoll)
}
