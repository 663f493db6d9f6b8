package model

import (
	"encoding/binary"

	"tamanet/virtio"
	vmodel "tamanet/virtio/model"
)

// Split virtqueue, device side (2.7).
const (
	descSize      = 16
	descFNext     = 1
	descFWrite    = 2
	descFIndirect = 4

	availFNoInterrupt = 1
)

// desc is one descriptor as the device reads it.
type desc struct {
	addr  uint64
	len   uint32
	write bool
}

// queue is the device's view of one virtqueue: its rings (from the
// generic part, each time the device uses them) and its two positions.
type queue struct {
	size        uint16
	desc        []byte
	avail, used []byte
	lastAvail   uint16 // next available entry to take
	usedIdx     uint16 // next used entry to write
	// pendingFrom is the used index at the last interrupt decision.
	pendingFrom uint16
}

// bind points q at the rings r.
func (q *queue) bind(r vmodel.Rings) {
	q.size, q.desc, q.avail, q.used = r.Size, r.Desc, r.Avail, r.Used
}

// availIdx is the driver's published available index.
func (q *queue) availIdx() uint16 { return virtio.Load16(q.avail, 2) }

// pending is the number of chains the driver has made available that the
// device has not taken; more than the queue size is a driver error.
func (q *queue) pending() int { return int(q.availIdx() - q.lastAvail) }

// chainError says what was wrong with a chain.
type chainError uint8

const (
	chainOK chainError = iota
	chainBadIndex
	chainLoop
	chainIndirect
)

// walk reads the chain at head into out (reused). It stops at the first
// problem.
func (q *queue) walk(head uint16, out []desc) ([]desc, chainError) {
	out = out[:0]
	at := head
	for {
		if at >= q.size {
			return out, chainBadIndex
		}
		if len(out) >= int(q.size) {
			return out, chainLoop
		}
		d := q.desc[int(at)*descSize:][:descSize]
		flags := binary.LittleEndian.Uint16(d[12:])
		if flags&descFIndirect != 0 {
			return out, chainIndirect
		}
		out = append(out, desc{
			addr:  binary.LittleEndian.Uint64(d[0:]),
			len:   binary.LittleEndian.Uint32(d[8:]),
			write: flags&descFWrite != 0,
		})
		if flags&descFNext == 0 {
			return out, chainOK
		}
		at = binary.LittleEndian.Uint16(d[14:])
	}
}

// take returns the head of the next available chain.
func (q *queue) take() uint16 {
	h := virtio.Load16(q.avail, virtio.RingEntries+2*int(q.lastAvail%q.size))
	q.lastAvail++
	return h
}

// push writes a used element; publish makes the ones pushed visible.
func (q *queue) push(id uint32, n uint32) {
	e := q.used[virtio.RingEntries+virtio.UsedElemSize*int(q.usedIdx%q.size):]
	binary.LittleEndian.PutUint32(e, id)
	binary.LittleEndian.PutUint32(e[4:], n)
	q.usedIdx++
}

func (q *queue) publish() { virtio.Store16(q.used, 2, q.usedIdx) }

// setAvailEvent asks the driver, with EVENT_IDX, to notify when it adds
// the entry after the ones taken (2.7.10).
func (q *queue) setAvailEvent() {
	virtio.Store16(q.used, virtio.AvailEventOffset(int(q.size)), q.lastAvail)
}

// wantsInterrupt decides whether the used entries published since the
// last decision call for a notification (2.7.10): used_event with
// EVENT_IDX, else the driver's NO_INTERRUPT flag.
func (q *queue) wantsInterrupt(eventIdx bool) bool {
	old := q.pendingFrom
	q.pendingFrom = q.usedIdx
	if old == q.usedIdx {
		return false
	}
	if eventIdx {
		return virtio.NeedEvent(virtio.Load16(q.avail, virtio.UsedEventOffset(int(q.size))), q.usedIdx, old)
	}
	return virtio.Load16(q.avail, 0)&availFNoInterrupt == 0
}
