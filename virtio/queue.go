package virtio

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Split virtqueue layout (2.7): a descriptor table, the available ring the
// driver fills and the used ring the device fills. Legacy devices take the
// queue as one page-aligned block with the used ring on the next page
// boundary (2.7.2), located by its page number; this queue uses that
// layout on every transport, as it also meets the modern alignments.
const (
	QueueAlign     = 4096 // legacy QUEUE_ALIGN
	QueueAddrShift = 12   // legacy queue addresses are in pages

	DescSize = 16 // struct virtq_desc: addr u64, len u32, flags u16, next u16

	VIRTQ_DESC_F_NEXT     = 1 // the buffer continues in the next field
	VIRTQ_DESC_F_WRITE    = 2 // device-writable (otherwise device-readable)
	VIRTQ_DESC_F_INDIRECT = 4 // the buffer holds a table of descriptors

	VIRTQ_AVAIL_F_NO_INTERRUPT = 1 // the driver polls the used ring

	// MaxQueueSize is the largest queue the specification allows (2.7).
	MaxQueueSize = 32768
)

// Offsets inside the rings: flags u16, idx u16, then the entries.
const (
	ringFlagsIdx = 0 // flags and idx, one aligned 32-bit word
	ringEntries  = 4
	usedElemSize = 8 // struct virtq_used_elem: id u32, len u32
)

// QueueBytes is the size of a legacy virtqueue of n entries: descriptors
// and available ring, padded to QueueAlign, then the used ring padded too.
func QueueBytes(n int) int {
	return alignUp(DescSize*n+ringEntries+2*n+2, QueueAlign) + alignUp(ringEntries+usedElemSize*n+2, QueueAlign)
}

func alignUp(v, a int) int { return (v + a - 1) &^ (a - 1) }

// Buffer is one piece of a request: Len bytes at bus address Addr, which
// the device writes (Write) or reads.
type Buffer struct {
	Addr  uint64
	Len   uint32
	Write bool
}

// Queue is one split virtqueue. It is not safe for concurrent use; the
// device driver that owns it serialises its requests.
type Queue struct {
	t      Transport
	index  uint16
	size   uint16
	desc   []byte
	avail  []byte
	used   []byte
	free   []uint16 // descriptors not in a request
	next   uint16   // the driver's avail idx, published by Kick
	seen   uint16   // used idx up to which requests were collected
	chains map[uint16]int
}

// SetupQueue sets up queue index with memory from dma (3.1.1 step 7): the
// queue takes the largest size the device allows; the driver allocates the
// rings page-aligned and tells the device where they are. The driver polls
// the used ring, so it asks the device not to interrupt.
func (d *Device) SetupQueue(index uint16, dma DMA) (*Queue, error) {
	size := d.t.QueueMax(index)
	switch {
	case size == 0:
		return nil, fmt.Errorf("%w: queue %d has size 0", ErrNoQueue, index)
	case size > MaxQueueSize || size&(size-1) != 0:
		return nil, fmt.Errorf("%w: %d entries (a power of 2 up to %d)", ErrQueueSize, size, MaxQueueSize)
	}
	n := int(size)
	mem, bus, err := dma.Alloc(QueueBytes(n), QueueAlign)
	switch {
	case err != nil:
		return nil, fmt.Errorf("virtio: queue %d: %w", index, err)
	case len(mem) < QueueBytes(n) || bus%QueueAlign != 0 || bus>>QueueAddrShift > 0xFFFFFFFF ||
		uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%4 != 0:
		return nil, fmt.Errorf("%w: %d bytes at bus address %#x for queue %d", ErrDMA, len(mem), bus, index)
	}
	clear(mem)
	usedOff := alignUp(DescSize*n+ringEntries+2*n+2, QueueAlign)
	q := &Queue{
		t:      d.t,
		index:  index,
		size:   size,
		desc:   mem[:DescSize*n],
		avail:  mem[DescSize*n : usedOff],
		used:   mem[usedOff:],
		chains: make(map[uint16]int, n),
	}
	for i := range size {
		q.free = append(q.free, i)
	}
	binary.LittleEndian.PutUint16(q.avail, VIRTQ_AVAIL_F_NO_INTERRUPT)
	if err := d.t.SetupQueue(index, size, LegacyRing(bus, size), NoVector); err != nil {
		return nil, err
	}
	return q, nil
}

// Size is the number of descriptors.
func (q *Queue) Size() int { return int(q.size) }

// Add puts a request made of bufs in the available ring and returns the
// id Collect reports it with. The device sees it after Kick.
func (q *Queue) Add(bufs ...Buffer) (id uint16, err error) {
	if len(bufs) == 0 || len(bufs) > len(q.free) {
		return 0, fmt.Errorf("virtio: %d buffers for %d free descriptors", len(bufs), len(q.free))
	}
	k := len(q.free) - len(bufs)
	ids := q.free[k:]
	q.free = q.free[:k]
	for i, b := range bufs {
		d := q.desc[int(ids[i])*DescSize:][:DescSize]
		binary.LittleEndian.PutUint64(d[0:], b.Addr)
		binary.LittleEndian.PutUint32(d[8:], b.Len)
		var flags, next uint16
		if b.Write {
			flags |= VIRTQ_DESC_F_WRITE
		}
		if i+1 < len(bufs) {
			flags |= VIRTQ_DESC_F_NEXT
			next = ids[i+1]
		}
		binary.LittleEndian.PutUint16(d[12:], flags)
		binary.LittleEndian.PutUint16(d[14:], next)
	}
	head := ids[0]
	q.chains[head] = len(bufs)
	binary.LittleEndian.PutUint16(q.avail[ringEntries+2*int(q.next%q.size):], head)
	q.next++
	return head, nil
}

// Kick publishes the requests added since the last Kick and notifies the
// device (2.7.13). The atomic store of the available index orders the
// descriptor and ring writes before it, as the specification's write
// barrier does; the notify is a register write after it.
func (q *Queue) Kick() {
	w := uint32(VIRTQ_AVAIL_F_NO_INTERRUPT) | uint32(q.next)<<16
	atomic.StoreUint32(word(q.avail, ringFlagsIdx), w)
	q.t.Notify(q.index)
}

// Collect returns the next request the device has finished, with the
// number of bytes it wrote, and frees its descriptors; ok is false if
// none is finished. The atomic load of the used index comes before any
// read of the element it covers: the driver's read barrier.
func (q *Queue) Collect() (id uint16, written uint32, ok bool) {
	usedIdx := uint16(atomic.LoadUint32(word(q.used, ringFlagsIdx)) >> 16)
	if usedIdx == q.seen {
		return 0, 0, false
	}
	e := q.used[ringEntries+usedElemSize*int(q.seen%q.size):][:usedElemSize]
	q.seen++
	elemID := binary.LittleEndian.Uint32(e[0:])
	written = binary.LittleEndian.Uint32(e[4:])
	n, known := q.chains[uint16(elemID)]
	if elemID >= uint32(q.size) || !known {
		// A device bug; the descriptors it names are not ours to free.
		return uint16(elemID), 0, true
	}
	delete(q.chains, uint16(elemID))
	for i, at := 0, uint16(elemID); i < n; i++ {
		q.free = append(q.free, at)
		at = binary.LittleEndian.Uint16(q.desc[int(at)*DescSize+14:])
	}
	return uint16(elemID), written, true
}

// word is the aligned 32-bit word at off in b, for atomic access.
func word(b []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
