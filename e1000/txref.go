package e1000

import "tamanet/txframe"

// Transmit in place. A frame whose parts the stack holds for the driver
// (txframe.Frame.Hold) need not be copied: a part of txRefMin bytes or more
// goes to the device as it is, through data descriptors of at most
// maxTxPacket bytes pointing into it, and the hold is released once the
// device has written back the frame's last descriptor (or a reset or a drop
// discards it). Smaller parts, and a TSO frame's headers (prepareTSO
// rewrites them), are still copied into the slot buffers, which therefore
// keep their 2 KiB per descriptor. A frame never takes more descriptors in
// place than copied: it is copied whole when it would.

// txRefMin is the smallest part the device reads in place: below it the
// copy costs less than the extra descriptor the device must fetch, and the
// headers gVisor builds (one view of at most 14+60+60 bytes) stay copied.
const txRefMin = 512

// txBuf is what a data descriptor points at: its slot's buffer (mapped
// false), or n bytes of a held part at bus, mapped until the frame ends.
type txBuf struct {
	bus    uint64
	n      int32
	mapped bool
}

// txWalker walks frame f for the ring: copies in slot-buffer runs, in
// place (when inPlace) up to the largest data descriptor, hdr bytes of
// headers copied.
func txWalker(f *txframe.Frame, hdr int, inPlace bool) txframe.Walker {
	w := txframe.Walker{Parts: f.Parts, Copy: hdr, CopyMax: txBufferSize, RefMax: maxTxPacket}
	if inPlace {
		w.RefMin = txRefMin
	}
	return w
}

// txDataDescs is how many data descriptors frame f of n bytes takes, and
// whether it goes (partly) in place: only with a hold and a mapper, and
// only when that takes no more descriptors than copying it whole. hdr is
// the length of the headers that must be copied (TSO), else 0.
func (d *Device) txDataDescs(f *txframe.Frame, n, hdr int) (descs int, inPlace bool) {
	copied := dataDescs(n)
	if f.Hold == nil || d.mapper == nil {
		return copied, false
	}
	descs, refs, _ := txWalker(f, hdr, true).Count()
	if refs == 0 || descs > copied {
		return copied, false
	}
	return descs, true
}

// txUnmap ends the mappings of descriptors [from, to) of the ring.
func (d *Device) txUnmap(from, to int) {
	for i := from; i != to; i = next(i, d.cfg.TxDescriptors) {
		if b := &d.txBufMap[i]; b.mapped {
			d.mapper.Unmap(b.bus, int(b.n))
			*b = txBuf{}
		}
	}
}

// txRetire ends the frame whose first descriptor is first: its mappings and
// its hold, taken from the slot so that nothing is released twice. It
// returns the slot as it was.
func (d *Device) txRetire(first int) txSlot {
	s := &d.txSlots[first]
	p := *s
	s.hold = nil
	d.txUnmap(first, next(int(p.last), d.cfg.TxDescriptors))
	txframe.Release(p.hold, &d.tx.Releases)
	return p
}
