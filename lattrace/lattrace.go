// Package lattrace is a latency trace for the unikernel's request path: the
// NIC interrupt, the poll that harvests the frame, its delivery to the
// stack, the handler's start and end, and the transmit doorbell each record
// an event with a timestamp (the TSC on the board), into one ring buffer
// that keeps the most recent events. Together with the client's own
// timestamps of each request, the events show where a slow request spent
// its time, and what else the guest was doing meanwhile (a garbage
// collection, the driver's watchdog, the CPU halted).
//
// The trace is off by default. Record then costs one atomic load and a
// branch; when on, it stores one 16-byte event and never allocates, so it
// may be called on every packet. Start allocates the ring.
//
// The package imports nothing of tamanet's, so drivers, the stack glue and
// the service can all record into it; the owner supplies the clock.
package lattrace

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Kind says what an event is.
type Kind uint8

// Kinds of event, in the order a request meets them.
const (
	// KindIRQ: an interrupt was dispatched to its handlers (Arg: the
	// vector).
	KindIRQ Kind = iota + 1
	// KindPollStart and KindPollEnd bracket one NAPI poll round (Arg of
	// the end: packets harvested).
	KindPollStart
	KindPollEnd
	// KindRx: the driver handed a received frame to the stack (Arg: its
	// length).
	KindRx
	// KindDeliver: the stack returned from a received frame's delivery
	// (Arg: its length).
	KindDeliver
	// KindHandlerStart and KindHandlerEnd bracket the application's work
	// on one request (Arg: a Handler value).
	KindHandlerStart
	KindHandlerEnd
	// KindTxDoorbell: the driver wrote the transmit tail register (Arg:
	// frames queued with it).
	KindTxDoorbell
	// KindGC: a garbage collection cycle finished (Arg: cycles so far,
	// modulo 2^32), as seen by a finalizer, which runs shortly after.
	KindGC
	// KindWatchdogStart and KindWatchdogEnd bracket the driver's periodic
	// housekeeping.
	KindWatchdogStart
	KindWatchdogEnd
	// KindHalt and KindWake bracket the CPU halted in the idle loop.
	KindHalt
	KindWake
	// KindRearm: a poll engine that completed re-enabled its device's
	// interrupts.
	KindRearm
	// KindAppRead: a read on an application's TCP connection returned data
	// (Arg: bytes).
	KindAppRead
	kindEnd
)

var kindNames = [...]string{
	KindIRQ: "irq", KindPollStart: "poll_start", KindPollEnd: "poll_end", KindRx: "rx",
	KindDeliver: "deliver", KindHandlerStart: "handler_start", KindHandlerEnd: "handler_end",
	KindTxDoorbell: "tx_doorbell", KindGC: "gc", KindWatchdogStart: "watchdog_start",
	KindWatchdogEnd: "watchdog_end", KindHalt: "halt", KindWake: "wake",
	KindRearm: "rearm", KindAppRead: "app_read",
}

// String names the kind as the trace's JSON does.
func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return fmt.Sprintf("kind%d", uint8(k))
}

// Kinds returns every kind, for documents that list them.
func Kinds() []Kind {
	ks := make([]Kind, 0, kindEnd-1)
	for k := KindIRQ; k < kindEnd; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Handler values, the Arg of KindHandlerStart and KindHandlerEnd.
const (
	HandlerHTTP = iota + 1
	HandlerTCPEcho
	HandlerUDPEcho
)

// Event is one recorded event.
type Event struct {
	// Time is the clock's reading (see Start), e.g. TSC ticks.
	Time uint64
	Arg  uint32
	Kind Kind
}

// slot is a ring entry. seq is the event's sequence number plus one,
// stored last: a slot whose seq does not match is being written. Every
// field is atomic so that a reader racing a writer is well defined.
type slot struct {
	seq  atomic.Uint32
	time atomic.Uint64
	meta atomic.Uint64 // Kind<<32 | Arg
}

// trace is the ring and its clock; replaced as a whole by Start.
type trace struct {
	clock func() uint64
	ring  []slot
	mask  uint64
	next  atomic.Uint64 // events recorded so far
}

var (
	on  atomic.Bool
	cur atomic.Pointer[trace]
	mu  sync.Mutex // serialises Start, Stop and Snapshot
)

// Record adds an event, if the trace is on. It never blocks or allocates.
func Record(k Kind, arg uint32) {
	if !on.Load() {
		return
	}
	t := cur.Load()
	n := t.next.Add(1) - 1
	e := &t.ring[n&t.mask]
	e.seq.Store(0)
	e.time.Store(t.clock())
	e.meta.Store(uint64(k)<<32 | uint64(arg))
	e.seq.Store(uint32(n) + 1)
}

// On reports whether the trace is recording.
func On() bool { return on.Load() }

// Start begins a trace of the most recent events (rounded up to a power of
// two, at least 1024), timed by clock, dropping any earlier one. A ring of
// the same size is reused, so tracing test after test does not grow the
// heap (and so change the garbage collector's pace) each time.
func Start(events int, clock func() uint64) {
	size := 1024
	for size < events {
		size <<= 1
	}
	mu.Lock()
	defer mu.Unlock()
	on.Store(false)
	var ring []slot
	if old := cur.Load(); old != nil && len(old.ring) == size {
		ring = old.ring
		for i := range ring {
			ring[i].seq.Store(0)
		}
	} else {
		ring = make([]slot, size)
	}
	cur.Store(&trace{clock: clock, ring: ring, mask: uint64(size - 1)})
	on.Store(true)
}

// Stop ends recording; the events stay readable until the next Start.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	on.Store(false)
}

// Stats says how much a trace has seen.
type Stats struct {
	On bool `json:"on"`
	// Recorded counts events since Start; the ring keeps the last Size.
	Recorded uint64 `json:"recorded"`
	Size     int    `json:"size" metric:"gauge"`
}

// ReadStats returns the current trace's counts.
func ReadStats() Stats {
	t := cur.Load()
	if t == nil {
		return Stats{}
	}
	return Stats{On: on.Load(), Recorded: t.next.Load(), Size: len(t.ring)}
}

// Snapshot copies the events the ring holds, oldest first, into dst[:0]
// and returns it with the number of events lost (recorded before the oldest
// kept, or overwritten while being copied). Recording goes on meanwhile.
func Snapshot(dst []Event) ([]Event, uint64) {
	mu.Lock()
	defer mu.Unlock()
	t := cur.Load()
	if t == nil {
		return dst[:0], 0
	}
	end := t.next.Load()
	start := uint64(0)
	if end > uint64(len(t.ring)) {
		start = end - uint64(len(t.ring))
	}
	out := dst[:0]
	lost := start
	for n := start; n < end; n++ {
		e := &t.ring[n&t.mask]
		if e.seq.Load() != uint32(n)+1 {
			lost++ // overwritten by a newer event, or half written
			continue
		}
		meta := e.meta.Load()
		c := Event{Time: e.time.Load(), Arg: uint32(meta), Kind: Kind(meta >> 32)}
		if e.seq.Load() != uint32(n)+1 {
			lost++
			continue
		}
		out = append(out, c)
	}
	return out, lost
}
