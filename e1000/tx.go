package e1000

import "time"

// TxStats counts the transmit path. Every frame passed to Transmit and
// counted in its result is in Queued or one Drop counter; every queued frame
// ends in Packets (completed) or DropReset.
type TxStats struct {
	// Queued counts frames placed in the ring.
	Queued uint64
	// Packets and Bytes count frames the device reported done.
	Packets, Bytes uint64
	// DropOversize counts frames longer than MaxFrame.
	DropOversize uint64
	// DropRunt counts frames shorter than an Ethernet header.
	DropRunt uint64
	// DropNoCarrier counts frames offered while the link was down.
	DropNoCarrier uint64
	// DropReset counts queued frames discarded by a watchdog reset.
	DropReset uint64
	// RingFull counts Transmit calls that found the ring full and stopped
	// the queue; Wakes counts the txReady calls that restarted it.
	RingFull, Wakes uint64
	// TailWrites counts TDT writes (one per Transmit call that queued).
	TailWrites uint64
}

// txWatch is the watchdog's view of transmit progress.
type txWatch struct {
	completed uint64    // tx.Packets when last checked
	since     time.Time // when progress was last seen; zero while idle
}

// txInFlight is the number of descriptors handed to the device and not yet
// reclaimed. Called with txMu held.
func (d *Device) txInFlight() int {
	return (d.txNextToUse - d.txNextToClean + d.cfg.TxDescriptors) % d.cfg.TxDescriptors
}

// txFree is the number of descriptors Transmit may fill: one always stays
// empty because TDT == TDH means an empty ring to the device.
func (d *Device) txFree() int { return d.cfg.TxDescriptors - 1 - d.txInFlight() }

// Transmit copies frames, in order, into the preallocated buffers of the
// transmit ring and tells the device about all of them with one TDT write.
// It returns how many frames it consumed: queued, or dropped and counted
// because they were malformed (shorter than an Ethernet header, longer than
// MaxFrame) or the link was down. A result below len(frames) means the ring
// filled up; the queue is then stopped and txReady is called once there is
// room again. The frames are not retained.
func (d *Device) Transmit(frames [][]byte) int {
	d.txMu.Lock()
	defer d.txMu.Unlock()

	carrier := d.carrier.Load()
	n := d.cfg.TxDescriptors
	s := &d.tx
	consumed, queued := 0, 0
	for _, f := range frames {
		switch {
		case len(f) > MaxFrame:
			s.DropOversize++
		case len(f) < ethHeaderLen:
			s.DropRunt++
		case !carrier:
			s.DropNoCarrier++
		case d.txFree() == 0:
			if !d.txStopped {
				d.txStopped = true
				s.RingFull++
			}
			d.txKick(queued)
			return consumed
		default:
			slot := d.txNextToUse
			off := slot * txBufferSize
			copy(d.txBufs[off:off+txBufferSize], f)
			txDescAt(d.txRing, slot).set(d.txBufAddr(slot), len(f), d.txCmd)
			d.txNextToUse = next(slot, n)
			queued++
		}
		consumed++
	}
	d.txKick(queued)
	return consumed
}

// txKick hands queued new descriptors to the device: one TDT write for the
// batch. QEMU transmits inside this write. Called with txMu held.
func (d *Device) txKick(queued int) {
	if queued == 0 {
		return
	}
	d.tx.Queued += uint64(queued)
	d.tx.TailWrites++
	d.regs.Write32(TDT, uint32(d.txNextToUse))
}

// txClean reclaims descriptors the device has written back (DD set in
// memory; TDH is never read) and, if the queue was stopped and enough room
// is back, restarts it by calling txReady outside the lock.
func (d *Device) txClean() {
	d.txMu.Lock()
	wake := d.txReclaim()
	d.txMu.Unlock()
	if wake {
		if f := d.upcalls().txReady; f != nil {
			f()
		}
	}
}

// txReclaim is txClean's work under txMu; it reports whether the stopped
// queue should be woken.
func (d *Device) txReclaim() bool {
	n := d.cfg.TxDescriptors
	for d.txNextToClean != d.txNextToUse {
		desc := txDescAt(d.txRing, d.txNextToClean)
		if desc.writeBack()&TXD_STAT_DD == 0 {
			break
		}
		d.tx.Packets++
		d.tx.Bytes += uint64(desc.length())
		d.txNextToClean = next(d.txNextToClean, n)
	}
	if d.txStopped && d.txFree() >= d.txWake {
		d.txStopped = false
		d.tx.Wakes++
		return true
	}
	return false
}
