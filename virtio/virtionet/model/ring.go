package model

import (
	"encoding/binary"

	"tamanet/virtio"
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

// queue is the device's view of one virtqueue.
type queue struct {
	size        uint16
	addrs       virtio.RingAddrs
	vector      uint16
	ready       bool
	desc        []byte
	avail, used []byte
	lastAvail   uint16 // next available entry to take
	usedIdx     uint16 // next used entry to write
	// pendingFrom is the used index at the last interrupt decision.
	pendingFrom uint16
}

// setup locates the rings in mem. It reports false if any part is not
// there.
func (q *queue) setup(mem Memory, size uint16, a virtio.RingAddrs) bool {
	n := int(size)
	var ok1, ok2, ok3 bool
	q.desc, ok1 = mem.Bytes(a.Desc, descSize*n)
	// The event index words: 2 bytes past each ring, rounded to a word.
	q.avail, ok2 = mem.Bytes(a.Avail, alignUp(virtio.UsedEventOffset(n)+2, 4))
	q.used, ok3 = mem.Bytes(a.Used, alignUp(virtio.AvailEventOffset(n)+2, 4))
	if !ok1 || !ok2 || !ok3 || a.Desc%16 != 0 || a.Avail%2 != 0 || a.Used%4 != 0 {
		return false
	}
	*q = queue{size: size, addrs: a, vector: q.vector, ready: true, desc: q.desc, avail: q.avail, used: q.used}
	return true
}

func alignUp(v, a int) int { return (v + a - 1) &^ (a - 1) }

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
