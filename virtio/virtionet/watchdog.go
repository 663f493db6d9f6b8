package virtionet

import "fmt"

// Watchdog is the driver's periodic housekeeping; the owner calls it about
// once a second from any goroutine. It reclaims transmit completions that
// no interrupt announced, and resets the device (Reset) if it asks for it
// (DEVICE_NEEDS_RESET), if an earlier reset failed, or if transmit chains
// have been outstanding with none completing for Config.TxTimeout. It
// returns the reset's error, if one was needed and failed.
func (d *Device) Watchdog() error {
	d.txClean()
	needs := d.t.Status()&(statusNeedsReset|statusFailed) != 0
	if needs && !d.isBroken() {
		d.dev.needsReset.Add(1)
	}
	switch {
	case needs || d.isBroken():
	case d.txHung():
		d.dev.txTimeouts.Add(1)
	default:
		return nil
	}
	return d.Reset()
}

// isBroken reports whether the device awaits a reset.
func (d *Device) isBroken() bool {
	d.carrierMu.Lock()
	defer d.carrierMu.Unlock()
	return d.broken
}

// txHung reports whether transmit work has been outstanding without
// progress for the timeout.
func (d *Device) txHung() bool {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	w := &d.txWatch
	if d.txq.InFlight() == 0 {
		*w = txWatch{}
		return false
	}
	now := d.cfg.Clock()
	if w.since.IsZero() || d.tx.Packets != w.completed {
		w.completed, w.since = d.tx.Packets, now
		return false
	}
	return now.Sub(w.since) >= d.cfg.TxTimeout
}

// Reset recovers a device that needs it: a device reset (which stops all
// its use of the queues), every buffer taken back and accounted for
// (used receive buffers dropped, RxStats.DropReset; transmit chains the
// device finished count as sent, the others as TxStats.DropReset), the
// same features negotiated again, the same queues given back, receive
// buffers posted, DRIVER_OK. The stack sees the carrier go down and come
// back, and a stopped transmit queue is woken. If the device does not
// come back, the carrier stays down and the error is returned; the next
// Watchdog tries again.
func (d *Device) Reset() error {
	wake, err := d.resetLocked()
	if wake {
		d.up.TxReady()
	}
	return err
}

func (d *Device) resetLocked() (wake bool, err error) {
	d.rxMu.Lock()
	defer d.rxMu.Unlock()
	d.txMu.Lock()
	defer d.txMu.Unlock()
	d.setBroken(true)
	d.dev.resets.Add(1)
	if err := d.t.Reset(); err != nil {
		return false, fmt.Errorf("virtio-net: reset: %w", err)
	}
	d.rxDropPending()
	d.txReclaim()
	d.txDropInFlight()
	d.txWatch = txWatch{}
	if wake = d.txStopped; wake {
		d.txStopped = false
		d.tx.Wakes++
	}
	if err := d.restart(); err != nil {
		if d.vdev != nil {
			d.vdev.Fail()
		}
		return wake, err
	}
	return wake, d.ready()
}

// restart negotiates again and gives the device its queues back. Called
// with both locks held.
func (d *Device) restart() error {
	if err := d.start(); err != nil {
		return err
	}
	if err := d.rxq.Reattach(d.t, d.vector(VectorRx)); err != nil {
		return err
	}
	if err := d.txq.Reattach(d.t, d.vector(VectorTx)); err != nil {
		return err
	}
	if d.cfg.MSIX {
		if err := d.t.SetConfigVector(VectorConfig); err != nil {
			return err
		}
	}
	if d.t.Legacy() && !d.features.Has(VIRTIO_NET_F_MAC) {
		mac := d.MAC()
		d.t.WriteConfig(configMAC, mac[:])
	}
	return nil
}
