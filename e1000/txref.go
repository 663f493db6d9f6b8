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

// txWalk cuts a frame into data descriptors: one part's bytes in place, or
// a slot buffer's worth (txBufferSize) of copied bytes. The first hdr bytes
// are always copied; inPlace false copies everything.
type txWalk struct {
	parts   [][]byte
	part    int // current part
	off     int // offset in it
	pos     int // offset in the frame
	hdr     int
	inPlace bool
}

// ref reports whether the bytes at the walk's position go in place.
func (w *txWalk) ref() bool {
	return w.inPlace && w.pos >= w.hdr && len(w.parts[w.part])-w.off >= txRefMin
}

// done reports whether the walk has passed the last byte.
func (w *txWalk) done() bool {
	for w.part < len(w.parts) && w.off == len(w.parts[w.part]) {
		w.part, w.off = w.part+1, 0
	}
	return w.part == len(w.parts)
}

// next returns the next descriptor's bytes: in place (ref, a slice of one
// part), or copied into dst when dst is not nil (n bytes, ref nil). n is 0
// at the end.
func (w *txWalk) next(dst []byte) (ref []byte, n int) {
	if w.done() {
		return nil, 0
	}
	if w.ref() {
		p := w.parts[w.part]
		ref = p[w.off:min(len(p), w.off+maxTxPacket)]
		w.off += len(ref)
		w.pos += len(ref)
		return ref, len(ref)
	}
	for n < txBufferSize && !w.done() && (n == 0 || !w.ref()) {
		p := w.parts[w.part][w.off:]
		k := min(txBufferSize-n, len(p))
		if w.inPlace && w.pos < w.hdr {
			k = min(k, w.hdr-w.pos) // stop at the headers' end: what follows may go in place
		}
		if dst != nil {
			copy(dst[n:], p[:k])
		}
		n += k
		w.off += k
		w.pos += k
	}
	return nil, n
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
	w := txWalk{parts: f.Parts, hdr: hdr, inPlace: true}
	refs := 0
	for {
		ref, k := w.next(nil)
		if k == 0 {
			break
		}
		descs++
		if ref != nil {
			refs++
		}
	}
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

// txRelease ends a frame's hold once the device no longer needs its parts.
func (d *Device) txRelease(h txframe.Releaser) {
	if h != nil {
		d.tx.Releases++
		h.Release()
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
	d.txRelease(p.hold)
	return p
}
