package e1000

import (
	"time"

	"tamanet/lattrace"
	"tamanet/txframe"
)

// TxStats counts the transmit path. Every frame passed to Transmit and
// counted in its result is in Queued or one Drop counter; every queued frame
// ends in Packets (completed) or DropReset.
type TxStats struct {
	// Queued counts frames placed in the ring.
	Queued uint64
	// Packets and Bytes count frames the device reported done, Bytes as
	// the stack handed them over (a TSO frame counts its headers once).
	Packets, Bytes uint64
	// Segments counts the frames those became on the wire: one per
	// packet, or one per MSS of payload for TSO.
	Segments uint64
	// Descriptors counts descriptors filled, data and context.
	Descriptors uint64
	// TSO counts frames queued for TCP segmentation; ChecksumOffload those
	// queued for checksum insertion only.
	TSO, ChecksumOffload uint64
	// Contexts counts context descriptors written; ContextsReused the
	// checksum-only frames whose context was already loaded.
	Contexts, ContextsReused uint64
	// DropOversize counts frames longer than the largest frame, without
	// TSO.
	DropOversize uint64
	// DropRunt counts frames shorter than an Ethernet header.
	DropRunt uint64
	// DropBadOffload counts frames whose offload request the device
	// cannot carry out (offsets beyond the context fields, IPv6 or UDP
	// segmentation, headers past the end of the frame).
	DropBadOffload uint64
	// DropExceedsRing counts frames needing more descriptors than the
	// ring has: they could never be queued.
	DropExceedsRing uint64
	// DropNoCarrier counts frames offered while the link was down.
	DropNoCarrier uint64
	// DropReset counts queued frames discarded by a watchdog reset.
	DropReset uint64
	// DropMap counts frames dropped because the DMA mapper refused one
	// of their parts (memory the device cannot reach).
	DropMap uint64
	// Holds counts consumed frames whose parts the stack held for the
	// driver (txframe.Frame.Hold); Releases the holds ended. They are
	// equal whenever no held frame is in the ring. InPlace counts the
	// frames the device read (partly) in place, and DescriptorsInPlace
	// their descriptors pointing into the stack's memory.
	Holds, Releases             uint64
	InPlace, DescriptorsInPlace uint64
	// RingFull counts Transmit calls that found the ring full and stopped
	// the queue; Wakes counts the txReady calls that restarted it.
	RingFull, Wakes uint64
	// TailWrites counts TDT writes: one per Transmit call that queued,
	// and one more each time the ring filled up during the call.
	TailWrites uint64
}

// txWatch is the watchdog's view of transmit progress.
type txWatch struct {
	completed uint64    // tx.Packets when last checked
	since     time.Time // when progress was last seen; zero while idle
}

// txSlot is the driver's record of a queued packet, kept at the index of
// its first descriptor (Linux's next_to_watch): the device reports status
// only in a packet's last descriptor, the one with EOP and RS.
type txSlot struct {
	last  int32 // index of the packet's EOP descriptor
	segs  int32 // frames on the wire
	bytes int64
	hold  txframe.Releaser // the frame's hold, while the device reads it in place
}

// txInFlight is the number of descriptors handed to the device and not yet
// reclaimed. Called with txMu held.
func (d *Device) txInFlight() int {
	return (d.txNextToUse - d.txNextToClean + d.cfg.TxDescriptors) % d.cfg.TxDescriptors
}

// txFree is the number of descriptors Transmit may fill: one always stays
// empty because TDT == TDH means an empty ring to the device.
func (d *Device) txFree() int { return d.cfg.TxDescriptors - 1 - d.txInFlight() }

// Transmit copies frames, in order, from their parts into the preallocated
// 2 KiB buffers of the transmit ring, one descriptor per buffer, or points
// descriptors at the parts themselves where the frame's parts are held
// (see txref.go), and tells the device about all of them with one TDT
// write. A frame may ask for checksum insertion or TCP segmentation
// (txframe.Offload, within TxCapabilities). It returns how many frames it consumed: queued, or
// dropped and counted because they were malformed (shorter than an Ethernet
// header, longer than MaxFrame without TSO, an offload request the device
// cannot honour, more descriptors than the ring has) or the link was down.
// A result below len(frames) means the ring filled up; the queue is then
// stopped and txReady is called once there is room again. A consumed
// frame's hold is released once the device is done with it, or at once if
// it was dropped or copied.
func (d *Device) Transmit(frames []txframe.Frame) int {
	d.txMu.Lock()
	defer d.txMu.Unlock()

	carrier := d.carrier.Load()
	s := &d.tx
	consumed, queued := 0, 0
	for i := range frames {
		f := &frames[i]
		n := f.Len()
		p, ok := d.txPlan(f, n)
		queuedBefore := queued
		switch {
		case n < ethHeaderLen:
			s.DropRunt++
		case !ok:
			s.DropBadOffload++
		case !p.tso && n > d.maxFrame:
			s.DropOversize++
		case p.descs > d.cfg.TxDescriptors-1:
			s.DropExceedsRing++
		case !carrier:
			s.DropNoCarrier++
		case d.txFree() < p.descs && d.txMakeRoom(p.descs, &queued):
			if !d.txStopped {
				d.txStopped = true
				s.RingFull++
			}
			d.txKick(queued)
			return consumed
		case !d.txQueue(f, n, &p):
			s.DropMap++
		default:
			queued++
		}
		if f.Hold != nil {
			s.Holds++
			if queued == queuedBefore || !p.inPlace {
				txframe.Release(f.Hold, &d.tx.Releases) // dropped, or copied: nothing left to read
			}
		}
		consumed++
	}
	d.txKick(queued)
	return consumed
}

// txPlan works out the descriptors frame f of n bytes needs. It reports
// false for an offload request the device cannot carry out. Called with
// txMu held: whether a context descriptor is needed depends on the one the
// device last loaded.
func (d *Device) txPlan(f *txframe.Frame, n int) (txPlan, bool) {
	if f.Offload.L4 == txframe.L4None {
		p := txPlan{segs: 1}
		p.descs, p.inPlace = d.txDataDescs(f, n, 0)
		return p, true
	}
	p, ok := planOffload(&f.Offload, n)
	if !ok {
		return p, false
	}
	p.ctx = p.tso || !d.txCtx.valid || d.txCtx.ctx != p.context
	if p.tso {
		p.hdr = int(p.context.hdrlen)
	}
	p.descs, p.inPlace = d.txDataDescs(f, n, p.hdr)
	if p.ctx {
		p.descs++
	}
	return p, true
}

// txMakeRoom reclaims what the device has finished and, if that is not
// enough and this call has queued descriptors the device has not been told
// about, tells it (a TDT write) and reclaims again: QEMU transmits inside
// the TDT write, so the ring is free again at once, where waiting for the
// completion interrupt would cost its moderation delay; hardware may have
// finished some. It reports whether the ring still lacks room for need
// descriptors. Called with txMu held.
func (d *Device) txMakeRoom(need int, queued *int) bool {
	d.txReclaim()
	if d.txFree() >= need || *queued == 0 {
		return d.txFree() < need
	}
	d.txKick(*queued)
	*queued = 0
	d.txReclaim()
	return d.txFree() < need
}

// txQueue fills the descriptors of one frame: its data, copied into the
// slot buffers or mapped in place, then the descriptors. It reports false,
// having filled nothing the device can see, if the mapper refused a part.
// Called with txMu held and room for p.descs descriptors.
func (d *Device) txQueue(f *txframe.Frame, n int, p *txPlan) bool {
	s := &d.tx
	nd := d.cfg.TxDescriptors
	first := d.txNextToUse
	data := first
	if p.ctx {
		data = next(first, nd)
	}
	// The data first, so that a refused mapping leaves no descriptor
	// written and the device's context as it was.
	w := txWalker(f, p.hdr, p.inPlace)
	i, last, refs := data, data, 0
	for {
		off := i * txBufferSize
		ref, k := w.Next(d.txBufs[off : off+txBufferSize])
		if k == 0 {
			break
		}
		b := txBuf{bus: d.txBufAddr(i), n: int32(k)}
		if ref != nil {
			bus, ok := d.mapper.Map(ref)
			if !ok {
				d.txUnmap(data, i)
				return false
			}
			b = txBuf{bus: bus, n: int32(k), mapped: true}
			refs++
		}
		d.txBufMap[i] = b
		last = i
		i = next(i, nd)
	}

	if p.ctx {
		txDescAt(d.txRing, first).setContext(&p.context)
		d.txCtx = txCtxCache{ctx: p.context, valid: true}
		s.Contexts++
	} else if p.ext {
		s.ContextsReused++
	}
	switch {
	case p.tso:
		s.TSO++
	case p.ext:
		s.ChecksumOffload++
	}
	cmd := uint8(TXD_CMD_IFCS) | d.txCmdIDE
	if p.tso {
		cmd |= TXD_DCMD_TSE
	}
	for i := data; ; i = next(i, nd) {
		b := d.txBufMap[i]
		dcmd := cmd
		if i == last {
			dcmd |= TXD_CMD_EOP | TXD_CMD_RS
		}
		desc := txDescAt(d.txRing, i)
		switch {
		case !p.ext:
			desc.set(b.bus, int(b.n), dcmd)
		case i == data:
			if p.tso {
				prepareTSO(d.txBufs[i*txBufferSize:][:b.n], &p.context)
			}
			desc.setData(b.bus, int(b.n), dcmd, p.popts)
		default:
			desc.setData(b.bus, int(b.n), dcmd, 0)
		}
		if i == last {
			break
		}
	}
	slot := txSlot{last: int32(last), segs: int32(p.segs), bytes: int64(n)}
	if refs > 0 {
		slot.hold = f.Hold
		s.InPlace++
		s.DescriptorsInPlace += uint64(refs)
	}
	d.txSlots[first] = slot
	s.Descriptors += uint64(p.descs)
	d.txNextToUse = next(last, nd)
	return true
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
	lattrace.Record(lattrace.KindTxDoorbell, uint32(queued))
}

// txClean reclaims descriptors the device has written back (DD set in
// memory; TDH is never read) and, if the queue was stopped and enough room
// is back, restarts it by calling txReady outside the lock.
func (d *Device) txClean() {
	if d.txCleanLocked() {
		d.up.TxReady()
	}
}

// txCleanLocked is txClean's work under txMu; it reports whether the
// stopped queue is to be woken. The unlock is deferred because txReclaim
// reads the ring in DMA memory, and a fault there must not leave the lock
// held for the next caller.
func (d *Device) txCleanLocked() (wake bool) {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	d.txReclaim()
	wake = d.txStopped && d.txFree() >= d.txWake
	if wake {
		d.txStopped = false
		d.tx.Wakes++
	}
	return wake
}

// txReclaim retires, oldest first, every packet whose last descriptor the
// device has marked done. Called with txMu held.
func (d *Device) txReclaim() {
	n := d.cfg.TxDescriptors
	for d.txNextToClean != d.txNextToUse {
		if txDescAt(d.txRing, int(d.txSlots[d.txNextToClean].last)).writeBack()&TXD_STAT_DD == 0 {
			break
		}
		p := d.txRetire(d.txNextToClean)
		d.tx.Packets++
		d.tx.Bytes += uint64(p.bytes)
		d.tx.Segments += uint64(p.segs)
		d.txNextToClean = next(int(p.last), n)
	}
}

// txDropInFlight counts every packet still in the ring as dropped by a
// reset, ends its mappings and hold, and forgets it. Called with txMu held,
// once the device is quiesced and txReclaim has retired the packets it
// completed.
func (d *Device) txDropInFlight() {
	n := d.cfg.TxDescriptors
	for d.txNextToClean != d.txNextToUse {
		p := d.txRetire(d.txNextToClean)
		d.tx.DropReset++
		d.txNextToClean = next(int(p.last), n)
	}
}
