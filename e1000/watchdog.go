package e1000

// Watchdog is the driver's periodic housekeeping; the owner calls it about
// once a second from any goroutine. It accumulates the hardware statistics,
// reclaims transmit completions a lost interrupt may have left behind, and,
// if transmit descriptors have been outstanding with none completing for
// Config.TxTimeout, counts a transmit timeout and resets the device (Reset).
// It returns the reset's error, if one was needed and failed.
func (d *Device) Watchdog() error {
	d.UpdateStats()
	d.txClean()
	if !d.txHung() {
		return nil
	}
	d.dev.txTimeouts.Add(1)
	return d.Reset()
}

// txHung reports whether transmit work has been outstanding without progress
// for the timeout. Progress is measured between calls, so a hang is seen
// between TxTimeout and TxTimeout plus one watchdog period after it starts.
func (d *Device) txHung() bool {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	w := &d.txWatch
	if d.txInFlight() == 0 {
		*w = txWatch{}
		return false
	}
	now := d.cfg.Clock()
	if w.since.IsZero() || d.tx.Packets != w.completed {
		w.completed = d.tx.Packets
		w.since = now
		return false
	}
	return now.Sub(w.since) >= d.cfg.TxTimeout
}

// Reset recovers a wedged device: a global reset, then the rings rebuilt
// empty and every register programmed again from the driver's state (station
// address, multicast table, promiscuous mode, moderation). The device is
// quiesced first, as Linux's e1000_down does, so that every descriptor it
// completed is accounted for: transmitted frames count as sent, received
// frames still in the ring are dropped and counted (RxStats.DropReset), as
// are frames queued for transmission that the device never took
// (TxStats.DropReset); the statistics registers, which the reset clears, are
// accumulated first. The stack sees the carrier go down and come back, and a
// stopped transmit queue is woken. If the device does not come out of
// reset, the carrier stays down (Transmit drops and counts) and the error
// is returned.
func (d *Device) Reset() error {
	wake, err := d.resetLocked()
	if err != nil {
		return err
	}
	if wake {
		d.up.TxReady()
	}
	return nil
}

// resetLocked is Reset's work under the receive, transmit and filter locks.
// It reports whether a stopped transmit queue is owed a wake-up. The
// unlocks are deferred: a register access that faults becomes a panic a
// caller may recover (an HTTP handler does), and the locks must not stay
// held after it.
func (d *Device) resetLocked() (wake bool, err error) {
	d.rxMu.Lock()
	defer d.rxMu.Unlock()
	d.txMu.Lock()
	defer d.txMu.Unlock()
	d.filterMu.Lock()
	defer d.filterMu.Unlock()
	// Resets are serialised by the locks above; link interrupts meanwhile
	// see an unconfigured device and leave the carrier down.
	d.setUnconfigured(true)
	d.dev.resets.Add(1)
	// Stop both DMA engines before looking at the rings, or a frame the
	// device writes after the harvest would be wiped out by the reset
	// without being counted. Clearing RCTL.EN costs QEMU's e1000 a second
	// of reception after the reset re-enables it (see setRCTL); resets are
	// rare enough for that.
	d.quiesce()
	d.rxDropPending()
	d.txReclaim()
	// Forget the dropped frames now, so a failed reset is not counted twice.
	d.txDropInFlight()
	d.UpdateStats()
	wake = d.txStopped
	if wake {
		d.tx.Wakes++
	}
	if err = d.resetHW(); err == nil {
		d.configure()
		d.setUnconfigured(false)
	}
	return wake, err
}
