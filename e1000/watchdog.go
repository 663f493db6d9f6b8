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
// address, multicast table, promiscuous mode, moderation). Frames waiting in
// either ring are dropped and counted (RxStats.DropReset, TxStats.DropReset).
// The stack sees the carrier go down and come back, and a stopped transmit
// queue is woken. If the device does not come out of reset, the carrier
// stays down (Transmit drops and counts) and the error is returned.
func (d *Device) Reset() error {
	d.rxMu.Lock()
	d.txMu.Lock()
	d.filterMu.Lock()
	// Resets are serialised by the locks above; link interrupts meanwhile
	// see an unconfigured device and leave the carrier down.
	d.setUnconfigured(true)
	d.dev.resets.Add(1)
	d.rxDropPending()
	// Forget the dropped frames now, so a failed reset is not counted twice.
	d.txDropInFlight()
	wake := d.txStopped
	if wake {
		d.tx.Wakes++
	}
	err := d.resetHW()
	if err == nil {
		d.configure()
		d.setUnconfigured(false)
	}
	d.filterMu.Unlock()
	d.txMu.Unlock()
	d.rxMu.Unlock()

	if err != nil {
		return err
	}
	if f := d.upcalls().txReady; wake && f != nil {
		f()
	}
	return nil
}
