package virtionet

import (
	"tamanet/txframe"
	"tamanet/virtio"
)

// Transmit in place. A frame whose parts the stack holds for the driver
// (txframe.Frame.Hold) is not copied whole: its parts of txRefMin bytes or
// more go to the device as chain buffers pointing into them, and only the
// virtio-net header and the smaller parts (the headers gVisor builds) are
// copied into the frame's piece of the transmit memory, in frame order,
// where the chain's other buffers point. The hold is released once the
// device has used the chain, or when a drop or a reset discards it. A frame
// needing more than maxTxChain buffers is copied whole.

// txRefMin is the smallest part the device reads in place: below it the
// copy costs less than another descriptor for the device to walk.
const txRefMin = 512

// maxTxChain bounds a chain's buffers, and so the driver's per-chain
// record of what it mapped.
const maxTxChain = 8

// txMap is one buffer of a chain that Map lent the device.
type txMap struct {
	bus uint64
	n   uint32
}

// txPlan is how a frame goes into the queue: its descriptors, the bytes it
// takes in the transmit memory behind the header, and whether part of it
// is read in place.
type txPlan struct {
	descs, copied int
	inPlace       bool
}

// txWalker walks frame f: runs of copied bytes as long as the frame,
// parts in place when inPlace.
func txWalker(f *txframe.Frame, inPlace bool) txframe.Walker {
	w := txframe.Walker{Parts: f.Parts, CopyMax: maxPacket, RefMax: maxPacket}
	if inPlace {
		w.RefMin = txRefMin
	}
	return w
}

// txLayout plans frame f of n bytes.
func (d *Device) txLayout(f *txframe.Frame, n int) txPlan {
	copied := txPlan{descs: d.txDescs(), copied: n}
	if f.Hold == nil || d.mapper == nil {
		return copied
	}
	bufs, refs, bytes := txWalker(f, true).Count()
	bufs++ // the header, on its own or with the first copied bytes
	if refs == 0 || bufs > min(maxTxChain, d.txq.Size()) {
		return copied
	}
	return txPlan{descs: bufs, copied: bytes, inPlace: true}
}

// txQueue puts one frame behind its header into its piece of the
// transmit memory and its chain into the queue: the piece holds the header
// and the copied bytes, the chain's other buffers map the parts read in
// place. It reports false, having queued nothing, if the mapper refused a
// part. Called with txMu held and room for the plan.
func (d *Device) txQueue(f *txframe.Frame, n int, h *Header, segs int, p *txPlan) bool {
	a := &d.txMem
	hl := d.hdrLen
	off, piece := a.alloc(hl + p.copied)
	buf := a.mem[off : off+hl+p.copied]
	h.Put(buf, hl)
	addr := a.bus + uint64(off)
	slot := txSlot{segs: int32(segs), bytes: int32(n), piece: int32(piece)}
	chain := append(d.txChain[:0], virtio.Buffer{Addr: addr, Len: uint32(hl)})
	// Copied bytes join the buffer before them when it is copied too
	// and they follow it in the piece; the header stays apart on a
	// legacy device without ANY_LAYOUT.
	joins := !d.split
	w := txWalker(f, p.inPlace)
	for pos := hl; ; {
		ref, k := w.Next(buf[pos:])
		if k == 0 {
			break
		}
		if ref == nil {
			if joins {
				chain[len(chain)-1].Len += uint32(k)
			} else {
				chain = append(chain, virtio.Buffer{Addr: addr + uint64(pos), Len: uint32(k)})
			}
			pos += k
			joins = true
			continue
		}
		bus, ok := d.mapper.Map(ref)
		if !ok {
			d.txUnmap(&slot)
			a.release(piece)
			return false
		}
		slot.maps[slot.nmaps] = txMap{bus: bus, n: uint32(k)}
		slot.nmaps++
		chain = append(chain, virtio.Buffer{Addr: bus, Len: uint32(k)})
		joins = false
	}
	head, err := d.txq.Add(chain...)
	if err != nil {
		// Cannot happen: the caller made room.
		panic("virtio-net: transmit queue full: " + err.Error())
	}
	s := &d.tx
	if slot.nmaps > 0 {
		slot.hold = f.Hold
		s.InPlace++
		s.DescriptorsInPlace += uint64(slot.nmaps)
	}
	d.txSlots[head] = slot
	s.Descriptors += uint64(len(chain))
	switch {
	case h.GSOType != VIRTIO_NET_HDR_GSO_NONE:
		s.TSO++
	case h.Flags != 0:
		s.ChecksumOffload++
	}
	return true
}

// txUnmap ends the mappings a chain's slot records.
func (d *Device) txUnmap(s *txSlot) {
	for _, m := range s.maps[:s.nmaps] {
		d.mapper.Unmap(m.bus, int(m.n))
	}
	s.nmaps = 0
}

// txRetire ends the chain at head: its memory, its mappings and its hold,
// taken from the slot so that nothing is released twice. It returns the
// slot as it was.
func (d *Device) txRetire(head uint16) txSlot {
	s := &d.txSlots[head]
	p := *s
	d.txUnmap(s)
	s.hold = nil
	d.txMem.release(int(p.piece))
	txframe.Release(p.hold, &d.tx.Releases)
	return p
}
