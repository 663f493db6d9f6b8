package virtio

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Split virtqueue layout (2.7): a descriptor table, the available ring the
// driver fills and the used ring the device fills. Legacy devices take the
// queue as one page-aligned block with the used ring on the next page
// boundary (2.7.2), located by QUEUE_ADDRESS in pages.
const (
	QueueAlign     = 4096 // legacy QUEUE_ALIGN
	QueueAddrShift = 12   // QUEUE_ADDRESS holds the address >> 12

	DescSize = 16 // struct virtq_desc: addr u64, len u32, flags u16, next u16

	VIRTQ_DESC_F_NEXT     = 1 // the buffer continues in the next field
	VIRTQ_DESC_F_WRITE    = 2 // device-writable (otherwise device-readable)
	VIRTQ_DESC_F_INDIRECT = 4 // the buffer holds a table of descriptors

	VIRTQ_AVAIL_F_NO_INTERRUPT = 1 // the driver needs no used buffer notification
	VIRTQ_USED_F_NO_NOTIFY     = 1 // the device needs no available buffer notification

	// MaxQueueSize is the largest queue the specification allows (2.7).
	MaxQueueSize = 32768
)

// Offsets inside the rings: flags u16, idx u16, then the entries, then the
// event index (used_event in the available ring, avail_event in the used
// ring, 2.7.10) right after the last entry.
const (
	RingFlagsIdx = 0 // flags and idx, one aligned 32-bit word
	RingEntries  = 4
	UsedElemSize = 8 // struct virtq_used_elem: id u32, len u32
)

// AvailEventOffset and UsedEventOffset locate the event indexes of a queue
// of n entries: avail_event in the used ring, used_event in the available
// ring.
func AvailEventOffset(n int) int { return RingEntries + UsedElemSize*n }
func UsedEventOffset(n int) int  { return RingEntries + 2*n }

// QueueBytes is the size of a legacy virtqueue of n entries: descriptors
// and available ring, padded to QueueAlign, then the used ring padded too.
func QueueBytes(n int) int {
	return alignUp(DescSize*n+ringEntries+2*n+2, QueueAlign) + alignUp(ringEntries+usedElemSize*n+2, QueueAlign)
}

// Old names of the ring offsets.
const (
	ringFlagsIdx = RingFlagsIdx
	ringEntries  = RingEntries
	usedElemSize = UsedElemSize
)

func alignUp(v, a int) int { return (v + a - 1) &^ (a - 1) }

// Buffer is one piece of a request: Len bytes at bus address Addr, which
// the device writes (Write) or reads.
type Buffer struct {
	Addr  uint64
	Len   uint32
	Write bool
}

// Used-ring errors: a device bug. The entry is skipped and counted; the
// descriptors it names are freed only if they were in flight, and never
// twice.
var (
	// ErrUsedID: the entry names a descriptor out of range or not the head
	// of a chain in flight.
	ErrUsedID = errors.New("virtio: used ring entry names no buffer in flight")
	// ErrUsedLen: the entry reports more bytes written than the chain has
	// device-writable room for. The chain is freed; its data is suspect.
	ErrUsedLen = errors.New("virtio: used ring entry reports more bytes than the buffer holds")
	// ErrQueueFull: fewer free descriptors than the chain needs.
	ErrQueueFull = errors.New("virtio: no free descriptors")
)

// Used is one chain the device has finished with.
type Used struct {
	// Head is the chain's first descriptor, as Add returned it.
	Head uint16
	// Len is the number of bytes the device wrote into the chain.
	Len uint32
	// Err is nil, ErrUsedID (Head and Len mean nothing) or ErrUsedLen
	// (Head is a chain now freed, Len is what the device claimed).
	Err error
}

// QueueStats counts a queue's traffic with the device.
type QueueStats struct {
	// Added and Completed count chains added and taken back.
	Added     uint64 `json:"added"`
	Completed uint64 `json:"completed"`
	// Notifies counts notifications sent; NotifiesSuppressed the kicks
	// that found the device wanted none (VIRTQ_USED_F_NO_NOTIFY or
	// avail_event).
	Notifies           uint64 `json:"notifies"`
	NotifiesSuppressed uint64 `json:"notifies_suppressed"`
	// BadID and BadLen count used-ring entries rejected with ErrUsedID
	// and ErrUsedLen.
	BadID  uint64 `json:"bad_id"`
	BadLen uint64 `json:"bad_len"`
}

// notifier is the part of a Transport a queue kicks the device through.
type notifier interface{ Notify(q uint16) }

// Queue is one split virtqueue (2.7). It is not safe for concurrent use;
// the driver that owns it serialises access. Its hot path (Add, Kick, Get,
// the interrupt controls) allocates nothing.
//
// Memory ordering follows 2.7.13: descriptors and ring entries are written
// before the atomic store that publishes the available index, and used
// entries are read only after the atomic load of the used index that
// covers them. Go's atomics are sequentially consistent, which also gives
// the full barrier between publishing and reading the device's
// notification suppression, and between re-enabling interrupts and the
// final check for work.
type Queue struct {
	t        notifier
	index    uint16
	size     uint16
	mask     uint16
	eventIdx bool

	desc  []byte
	avail []byte
	used  []byte
	addrs RingAddrs

	// Per descriptor: the next descriptor in its chain (the driver's own
	// copy, never read back from shared memory), and at a chain's head
	// its length (0: not in flight) and its device-writable bytes.
	next     []uint16
	chainLen []uint16
	writable []uint32
	free     []uint16 // stack of free descriptors

	availIdx  uint16 // the driver's next available index
	kickedIdx uint16 // available index at the last Kick
	seen      uint16 // used index up to which entries were taken
	inFlight  int    // chains added and not taken back
	// disabled: interrupts suppressed by DisableInterrupts, which an
	// interrupt handler may call while the owner uses the queue.
	disabled atomic.Bool

	st QueueStats
}

// NewQueue allocates queue index's rings from dma, tells the device about
// them with t.SetupQueue(index, size, addrs, vector) and returns the queue.
// On a legacy transport the device fixes the size (t.QueueMax) and the
// rings are laid out as in 2.7.2; otherwise size is any power of 2 up to
// t.QueueMax (0 means t.QueueMax). eventIdx says VIRTIO_F_EVENT_IDX was
// negotiated. Interrupts start enabled.
func NewQueue(t Transport, index, size uint16, dma DMA, vector uint16, eventIdx bool) (*Queue, error) {
	maxSize := t.QueueMax(index)
	switch {
	case maxSize == 0:
		return nil, fmt.Errorf("%w: queue %d", ErrNoQueue, index)
	case t.Legacy() || size == 0:
		size = maxSize
	case size > maxSize:
		return nil, fmt.Errorf("%w: %d entries for queue %d (device maximum %d)", ErrQueueSize, size, index, maxSize)
	}
	if size > MaxQueueSize || size&(size-1) != 0 {
		return nil, fmt.Errorf("%w: %d entries for queue %d (a power of 2 up to %d)", ErrQueueSize, size, index, MaxQueueSize)
	}
	n := int(size)
	var mem []byte
	var bus uint64
	var availOff, usedOff int
	if t.Legacy() {
		r := LegacyRing(0, size)
		availOff, usedOff = int(r.Avail), int(r.Used)
		var err error
		if mem, bus, err = allocRings(dma, QueueBytes(n), QueueAlign, index); err != nil {
			return nil, err
		}
	} else {
		// Descriptors 16-byte aligned, the available ring after them
		// (so 16-aligned too), the used ring 4-aligned; each ring keeps
		// 2 spare bytes so its event index sits in a whole 32-bit word.
		availOff = DescSize * n
		usedOff = alignUp(availOff+ringEntries+2*n+4, 4)
		total := usedOff + ringEntries + usedElemSize*n + 4
		var err error
		if mem, bus, err = allocRings(dma, total, 16, index); err != nil {
			return nil, err
		}
	}
	q := newQueue(t, index, size, mem, availOff, usedOff, eventIdx)
	q.addrs = RingAddrs{Desc: bus, Avail: bus + uint64(availOff), Used: bus + uint64(usedOff)}
	if err := q.Reattach(t, vector); err != nil {
		return nil, fmt.Errorf("virtio: queue %d: %w", index, err)
	}
	return q, nil
}

// allocRings allocates and clears n bytes of ring memory aligned to align.
func allocRings(dma DMA, n, align int, index uint16) ([]byte, uint64, error) {
	mem, bus, err := dma.Alloc(n, align)
	switch {
	case err != nil:
		return nil, 0, fmt.Errorf("virtio: queue %d: %w", index, err)
	case len(mem) < n || bus%uint64(align) != 0 || (align == QueueAlign && bus>>QueueAddrShift > 0xFFFFFFFF) ||
		uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%4 != 0:
		return nil, 0, fmt.Errorf("%w: %d bytes at bus address %#x for queue %d", ErrDMA, len(mem), bus, index)
	}
	clear(mem[:n])
	return mem[:n], bus, nil
}

// newQueue builds the driver's side of a queue over cleared ring memory.
func newQueue(t notifier, index, size uint16, mem []byte, availOff, usedOff int, eventIdx bool) *Queue {
	n := int(size)
	q := &Queue{
		t:        t,
		index:    index,
		size:     size,
		mask:     size - 1,
		eventIdx: eventIdx,
		desc:     mem[:DescSize*n],
		avail:    mem[availOff:usedOff],
		used:     mem[usedOff:],
		next:     make([]uint16, n),
		chainLen: make([]uint16, n),
		writable: make([]uint32, n),
		free:     make([]uint16, n),
	}
	for i := range q.free {
		// Popped from the end: descriptor 0 first.
		q.free[i] = uint16(n - 1 - i)
	}
	return q
}

// Index is the queue's number on its device.
func (q *Queue) Index() uint16 { return q.index }

// Size is the number of descriptors.
func (q *Queue) Size() int { return int(q.size) }

// Free is the number of descriptors not in a chain in flight.
func (q *Queue) Free() int { return len(q.free) }

// InFlight is the number of chains added and not yet taken back by Get.
func (q *Queue) InFlight() int { return q.inFlight }

// Stats returns the queue's counters.
func (q *Queue) Stats() QueueStats { return q.st }

// NextDescriptor is the descriptor the next Add will use for the i-th
// buffer of its chain (i < Free()), so a driver that keeps one buffer per
// descriptor can fill the right ones before adding the chain.
func (q *Queue) NextDescriptor(i int) uint16 { return q.free[len(q.free)-1-i] }

// Add puts a chain made of bufs (device-readable ones first, as 2.7.4.2
// wants) in the available ring and returns its head, which Get reports it
// with. The device sees it after Kick (or Publish).
func (q *Queue) Add(bufs ...Buffer) (head uint16, err error) {
	if len(bufs) == 0 || len(bufs) > len(q.free) {
		return 0, ErrQueueFull
	}
	k := len(q.free) - len(bufs)
	ids := q.free[k:]
	var room uint32
	for i, b := range bufs {
		id := ids[len(ids)-1-i]
		d := q.desc[int(id)*DescSize:][:DescSize]
		putLE64(d[0:], b.Addr)
		putLE32(d[8:], b.Len)
		var flags, next uint16
		if b.Write {
			flags |= VIRTQ_DESC_F_WRITE
			room += b.Len
		}
		if i+1 < len(bufs) {
			flags |= VIRTQ_DESC_F_NEXT
			next = ids[len(ids)-2-i]
		}
		putLE16(d[12:], flags)
		putLE16(d[14:], next)
		q.next[id] = next
	}
	head = ids[len(ids)-1]
	q.free = q.free[:k]
	q.chainLen[head] = uint16(len(bufs))
	q.inFlight++
	q.writable[head] = room
	// The entry is written plainly: the device reads it only after the
	// atomic load of the index that Publish stores.
	Store16(q.avail, ringEntries+2*int(q.availIdx&q.mask), head)
	q.availIdx++
	q.st.Added++
	return head, nil
}

// Publish makes the chains added so far visible to the device (2.7.13.3):
// the atomic store of the available index orders every descriptor and
// ring write before it.
func (q *Queue) Publish() { Store16(q.avail, availIdxOffset, q.availIdx) }

// availIdxOffset is idx in the available ring, after its flags.
const availIdxOffset = 2

// Kick publishes the chains added since the last Kick and notifies the
// device if it wants to hear about them (2.7.13.4): unless it set
// VIRTQ_USED_F_NO_NOTIFY, or, with EVENT_IDX, unless the new chains do
// not pass its avail_event. It reports whether it notified.
func (q *Queue) Kick() bool {
	q.Publish()
	old, now := q.kickedIdx, q.availIdx
	q.kickedIdx = now
	if old == now {
		return false
	}
	var want bool
	if q.eventIdx {
		want = NeedEvent(Load16(q.used, AvailEventOffset(int(q.size))), now, old)
	} else {
		want = Load16(q.used, ringFlagsIdx)&VIRTQ_USED_F_NO_NOTIFY == 0
	}
	if !want {
		q.st.NotifiesSuppressed++
		return false
	}
	q.st.Notifies++
	q.t.Notify(q.index)
	return true
}

// NeedEvent is vring_need_event (2.7.10): whether moving an index from
// old to now passes event, so the other side asked to be told.
func NeedEvent(event, now, old uint16) bool { return now-event-1 < now-old }

// Pending reports whether the device has used chains Get has not taken.
func (q *Queue) Pending() bool { return q.usedIdx() != q.seen }

// usedIdx loads the device's used index (the driver's read barrier).
func (q *Queue) usedIdx() uint16 {
	return uint16(atomic.LoadUint32(word(q.used, ringFlagsIdx)) >> 16)
}

// Get takes the next chain the device has used and frees its descriptors;
// ok is false if there is none. A bad entry comes back with Err set (see
// Used) and is counted; it never frees a descriptor twice.
func (q *Queue) Get() (u Used, ok bool) {
	if q.usedIdx() == q.seen {
		return Used{}, false
	}
	e := q.used[ringEntries+usedElemSize*int(q.seen&q.mask):][:usedElemSize]
	q.seen++
	id, n := le32(e[0:]), le32(e[4:])
	if id >= uint32(q.size) || q.chainLen[id] == 0 {
		q.st.BadID++
		return Used{Head: uint16(id), Len: n, Err: ErrUsedID}, true
	}
	head := uint16(id)
	room := q.writable[head]
	q.release(head)
	q.st.Completed++
	if n > room {
		q.st.BadLen++
		return Used{Head: head, Len: n, Err: ErrUsedLen}, true
	}
	return Used{Head: head, Len: n}, true
}

// release returns a chain's descriptors to the free stack.
func (q *Queue) release(head uint16) {
	at := head
	for range q.chainLen[head] {
		q.free = append(q.free, at)
		at = q.next[at]
	}
	q.chainLen[head] = 0
	q.writable[head] = 0
	q.inFlight--
}

// DisableInterrupts asks the device not to send used buffer notifications
// (2.7.10): VIRTQ_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX a used_event the
// device has already passed (one behind its used index). It is advice;
// one may still arrive. Unlike the other methods it may be called from an
// interrupt handler while the owner uses the queue: it touches only the
// flags word half and used_event, each with an atomic update.
func (q *Queue) DisableInterrupts() {
	q.disabled.Store(true)
	if q.eventIdx {
		Store16(q.avail, UsedEventOffset(int(q.size)), q.usedIdx()-1)
		return
	}
	Store16(q.avail, ringFlagsIdx, VIRTQ_AVAIL_F_NO_INTERRUPT)
}

// EnableInterrupts asks for a notification on the next used chain and
// then, after a full barrier, checks for chains used meanwhile. It
// reports whether some are pending: the device may have used them before
// it saw the request, so no notification may come for them and the caller
// must poll again (Linux's virtqueue_enable_cb).
func (q *Queue) EnableInterrupts() (pending bool) {
	q.disabled.Store(false)
	if q.eventIdx {
		Store16(q.avail, UsedEventOffset(int(q.size)), q.seen)
	} else {
		Store16(q.avail, ringFlagsIdx, 0)
	}
	return q.Pending()
}

// EnableInterruptsDelayed is EnableInterrupts asking, with EVENT_IDX, to
// be notified only once about three quarters of the chains in flight are
// used (Linux's virtqueue_enable_cb_delayed), for transmit completions
// that are wanted only to free room. Without EVENT_IDX it is
// EnableInterrupts.
func (q *Queue) EnableInterruptsDelayed() (pending bool) {
	if !q.eventIdx {
		return q.EnableInterrupts()
	}
	q.disabled.Store(false)
	Store16(q.avail, UsedEventOffset(int(q.size)), q.seen+uint16(q.InFlight()*3/4))
	return q.Pending()
}

// InterruptsDisabled reports whether DisableInterrupts is in effect.
func (q *Queue) InterruptsDisabled() bool { return q.disabled.Load() }

// Detach forgets every chain in flight, for a device that was reset: it
// returns each head to f (nil: none) and frees the descriptors, and
// starts the rings over. The caller sets the queue up on the device again
// with Reattach.
func (q *Queue) Detach(f func(head uint16)) {
	for head := range q.chainLen {
		if q.chainLen[head] != 0 {
			if f != nil {
				f(uint16(head))
			}
			q.release(uint16(head))
		}
	}
	clear(q.desc)
	clear(q.avail)
	clear(q.used)
	q.availIdx, q.kickedIdx, q.seen = 0, 0, 0
	q.disabled.Store(false)
}

// Reattach gives the device the queue's rings again after a reset, with
// t.SetupQueue. Call Detach first.
func (q *Queue) Reattach(t Transport, vector uint16) error {
	return t.SetupQueue(q.index, q.size, q.addrs, vector)
}

// word is the aligned 32-bit word at off in b, for atomic access.
func word(b []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }

// Load16 and Store16 access the little-endian 16-bit ring field at off
// (an even offset in 4-aligned ring memory) atomically, through the
// aligned 32-bit word that holds it, as both sides of a ring must for the
// fields they share without other ordering: indexes, flags and event
// indexes. The driver and the device models in tests use them alike.
func Load16(b []byte, off int) uint16 {
	w := atomic.LoadUint32(word(b, off&^3))
	return uint16(w >> (8 * (off & 2)))
}

// Store16: see Load16. Only one side writes any given word.
func Store16(b []byte, off int, v uint16) {
	p := word(b, off&^3)
	shift := 8 * (off & 2)
	for {
		old := atomic.LoadUint32(p)
		nw := old&^(0xFFFF<<shift) | uint32(v)<<shift
		if atomic.CompareAndSwapUint32(p, old, nw) {
			return
		}
	}
}

// Little-endian accessors for descriptor and used element fields (the
// guest is little-endian, so legacy and modern layouts agree).
func putLE16(b []byte, v uint16) { _ = b[1]; b[0], b[1] = byte(v), byte(v>>8) }
func putLE32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
func putLE64(b []byte, v uint64) { putLE32(b, uint32(v)); putLE32(b[4:], uint32(v>>32)) }
func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
