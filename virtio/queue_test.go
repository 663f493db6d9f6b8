package virtio_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"tamanet/devmodel/arena"
	"tamanet/virtio"
)

// fakeTransport is the device side of one queue, just enough to check the
// driver's rings by hand: it records the setup and counts notifications.
type fakeTransport struct {
	legacy   bool
	max      uint16
	mem      *arena.Arena
	size     uint16
	addrs    virtio.RingAddrs
	vector   uint16
	notifies int
}

func (f *fakeTransport) Name() string                 { return "fake" }
func (f *fakeTransport) Legacy() bool                 { return f.legacy }
func (f *fakeTransport) Reset() error                 { return nil }
func (f *fakeTransport) Status() uint8                { return 0 }
func (f *fakeTransport) SetStatus(uint8)              {}
func (f *fakeTransport) DeviceFeatures() uint64       { return 0 }
func (f *fakeTransport) SetDriverFeatures(uint64)     {}
func (f *fakeTransport) ReadConfig(int, []byte)       {}
func (f *fakeTransport) WriteConfig(int, []byte)      {}
func (f *fakeTransport) QueueMax(uint16) uint16       { return f.max }
func (f *fakeTransport) SetConfigVector(uint16) error { return nil }
func (f *fakeTransport) Notify(uint16)                { f.notifies++ }
func (f *fakeTransport) AckInterrupt() uint8          { return 0 }
func (f *fakeTransport) SetupQueue(q, size uint16, r virtio.RingAddrs, vector uint16) error {
	f.size, f.addrs, f.vector = size, r, vector
	return nil
}

// ring returns the device's view of one ring.
func (f *fakeTransport) ring(addr uint64, n int) []byte {
	b, ok := f.mem.Bytes(addr, n)
	if !ok {
		panic("ring outside memory")
	}
	return b
}

func (f *fakeTransport) availRing() []byte {
	return f.ring(f.addrs.Avail, virtio.UsedEventOffset(int(f.size))+2)
}
func (f *fakeTransport) usedRing() []byte {
	return f.ring(f.addrs.Used, virtio.AvailEventOffset(int(f.size))+2)
}

// take returns the head the device finds at avail position i.
func (f *fakeTransport) take(i uint16) uint16 {
	return virtio.Load16(f.availRing(), virtio.RingEntries+2*int(i%f.size))
}

// complete writes a used element and publishes the used index.
func (f *fakeTransport) complete(idx uint16, id, n uint32) {
	u := f.usedRing()
	e := u[virtio.RingEntries+virtio.UsedElemSize*int(idx%f.size):]
	binary.LittleEndian.PutUint32(e, id)
	binary.LittleEndian.PutUint32(e[4:], n)
	virtio.Store16(u, 2, idx+1)
}

func newTestQueue(t *testing.T, f *fakeTransport, size uint16, eventIdx bool) *virtio.Queue {
	t.Helper()
	f.mem = arena.New(1 << 20)
	q, err := virtio.NewQueue(f, 1, size, f.mem, 3, eventIdx)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestNewQueueLayout(t *testing.T) {
	f := &fakeTransport{max: 256}
	q := newTestQueue(t, f, 64, false)
	if q.Size() != 64 || f.size != 64 || f.vector != 3 {
		t.Fatalf("size %d/%d vector %d", q.Size(), f.size, f.vector)
	}
	if f.addrs.Desc%16 != 0 || f.addrs.Avail%2 != 0 || f.addrs.Used%4 != 0 || f.addrs.Avail < f.addrs.Desc+64*16 {
		t.Errorf("modern layout %+v", f.addrs)
	}
	if _, err := virtio.NewQueue(f, 1, 512, f.mem, 0, false); !errors.Is(err, virtio.ErrQueueSize) {
		t.Errorf("oversized queue: %v", err)
	}
	if _, err := virtio.NewQueue(f, 1, 48, f.mem, 0, false); !errors.Is(err, virtio.ErrQueueSize) {
		t.Errorf("not a power of 2: %v", err)
	}
	if _, err := virtio.NewQueue(&fakeTransport{mem: f.mem}, 1, 8, f.mem, 0, false); !errors.Is(err, virtio.ErrNoQueue) {
		t.Errorf("missing queue: %v", err)
	}

	l := &fakeTransport{legacy: true, max: 128}
	ql := newTestQueue(t, l, 16, false)
	if ql.Size() != 128 || l.addrs.Desc%virtio.QueueAlign != 0 || l.addrs.Avail != l.addrs.Desc+128*16 ||
		l.addrs.Used != l.addrs.Desc+uint64((128*16+4+2*128+2+4095)&^4095) {
		t.Errorf("legacy layout: size %d, %+v", ql.Size(), l.addrs)
	}
}

func TestAddGetChain(t *testing.T) {
	f := &fakeTransport{max: 8}
	q := newTestQueue(t, f, 8, false)
	head, err := q.Add(virtio.Buffer{Addr: 0x100, Len: 12}, virtio.Buffer{Addr: 0x200, Len: 100, Write: true}, virtio.Buffer{Addr: 0x300, Len: 50, Write: true})
	if err != nil || q.Free() != 5 {
		t.Fatalf("Add: %v, free %d", err, q.Free())
	}
	if !q.Kick() || f.notifies != 1 {
		t.Fatalf("first kick did not notify")
	}
	if q.Kick() || f.notifies != 1 {
		t.Fatalf("kick with nothing new notified")
	}
	if got := f.take(0); got != head {
		t.Fatalf("avail[0] = %d, want %d", got, head)
	}
	// The chain as the device walks it.
	desc := f.ring(f.addrs.Desc, 8*16)
	var lens []uint32
	for i, at := 0, head; ; i++ {
		d := desc[int(at)*16:]
		lens = append(lens, binary.LittleEndian.Uint32(d[8:]))
		flags := binary.LittleEndian.Uint16(d[12:])
		if (flags&virtio.VIRTQ_DESC_F_WRITE != 0) != (i > 0) {
			t.Errorf("descriptor %d flags %#x", i, flags)
		}
		if flags&virtio.VIRTQ_DESC_F_NEXT == 0 {
			break
		}
		at = binary.LittleEndian.Uint16(d[14:])
	}
	if len(lens) != 3 || lens[0] != 12 || lens[2] != 50 {
		t.Fatalf("chain lengths %v", lens)
	}
	if _, ok := q.Get(); ok {
		t.Fatal("Get before the device used anything")
	}
	f.complete(0, uint32(head), 150)
	u, ok := q.Get()
	if !ok || u.Err != nil || u.Head != head || u.Len != 150 || q.Free() != 8 {
		t.Fatalf("Get = %+v %v, free %d", u, ok, q.Free())
	}
}

// TestBadUsedEntries: ids out of range, not in flight, taken twice, and
// lengths beyond the writable room are errors and counted, and no
// descriptor is freed twice.
func TestBadUsedEntries(t *testing.T) {
	f := &fakeTransport{max: 4}
	q := newTestQueue(t, f, 4, false)
	h, _ := q.Add(virtio.Buffer{Addr: 0x100, Len: 64, Write: true})
	h2, _ := q.Add(virtio.Buffer{Addr: 0x200, Len: 64, Write: true})
	q.Kick()
	f.complete(0, 99, 1)          // out of range
	f.complete(1, uint32(h), 64)  // good
	f.complete(2, uint32(h), 64)  // h again: no longer in flight
	f.complete(3, uint32(h2), 65) // too long
	want := []error{virtio.ErrUsedID, nil, virtio.ErrUsedID, virtio.ErrUsedLen}
	for i, w := range want {
		u, ok := q.Get()
		if !ok || u.Err != w {
			t.Fatalf("entry %d: %+v %v, want %v", i, u, ok, w)
		}
	}
	if s := q.Stats(); s.BadID != 2 || s.BadLen != 1 || s.Completed != 2 || q.Free() != 4 || q.InFlight() != 0 {
		t.Errorf("stats %+v, free %d", s, q.Free())
	}
	for range 4 {
		if _, err := q.Add(virtio.Buffer{Addr: 0x100, Len: 1, Write: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Add(virtio.Buffer{Addr: 0x100, Len: 1}); !errors.Is(err, virtio.ErrQueueFull) {
		t.Fatalf("overfull: %v", err)
	}
}

// TestNotifySuppression: without EVENT_IDX the device's NO_NOTIFY flag,
// with it avail_event, decide whether Kick notifies.
func TestNotifySuppression(t *testing.T) {
	f := &fakeTransport{max: 8}
	q := newTestQueue(t, f, 8, false)
	virtio.Store16(f.usedRing(), 0, virtio.VIRTQ_USED_F_NO_NOTIFY)
	q.Add(virtio.Buffer{Addr: 1, Len: 1})
	if q.Kick() || f.notifies != 0 || q.Stats().NotifiesSuppressed != 1 {
		t.Fatal("kick notified despite NO_NOTIFY")
	}

	f = &fakeTransport{max: 8}
	q = newTestQueue(t, f, 8, true)
	// avail_event 2: the device wants to hear when entry 2 is added.
	virtio.Store16(f.usedRing(), virtio.AvailEventOffset(8), 2)
	var notified []bool
	for range 4 {
		q.Add(virtio.Buffer{Addr: 1, Len: 1})
		notified = append(notified, q.Kick())
	}
	if notified[0] || notified[1] || !notified[2] || notified[3] {
		t.Fatalf("notifications %v, want only the third", notified)
	}
	// A batch passing the event notifies once.
	virtio.Store16(f.usedRing(), virtio.AvailEventOffset(8), 5)
	for range 3 {
		q.Add(virtio.Buffer{Addr: 1, Len: 1})
	}
	// Only 4 descriptors were free; the batch of 3 failed at none.
	if !q.Kick() {
		t.Fatal("batch across avail_event did not notify")
	}
}

// TestInterruptSuppression: the driver's side, both ways, and the re-arm
// check that catches chains used before the device saw it.
func TestInterruptSuppression(t *testing.T) {
	for _, ev := range []bool{false, true} {
		f := &fakeTransport{max: 8}
		q := newTestQueue(t, f, 8, ev)
		h, _ := q.Add(virtio.Buffer{Addr: 1, Len: 8, Write: true})
		q.Kick()
		q.DisableInterrupts()
		avail := f.availRing()
		if ev {
			// used_event behind the device: it never crosses it.
			if e := virtio.Load16(avail, virtio.UsedEventOffset(8)); virtio.NeedEvent(e, 1, 0) {
				t.Errorf("event idx: used_event %d still asks for the next entry", e)
			}
		} else if virtio.Load16(avail, 0)&virtio.VIRTQ_AVAIL_F_NO_INTERRUPT == 0 {
			t.Error("NO_INTERRUPT not set")
		}
		f.complete(0, uint32(h), 8)
		if !q.EnableInterrupts() {
			t.Errorf("eventIdx %v: re-arm missed a chain used meanwhile", ev)
		}
		if ev {
			if e := virtio.Load16(avail, virtio.UsedEventOffset(8)); e != 0 {
				t.Errorf("used_event %d, want 0", e)
			}
		} else if virtio.Load16(avail, 0)&virtio.VIRTQ_AVAIL_F_NO_INTERRUPT != 0 {
			t.Error("NO_INTERRUPT still set")
		}
		q.Get()
		if q.EnableInterrupts() {
			t.Error("pending with nothing used")
		}
	}
}

func TestDetach(t *testing.T) {
	f := &fakeTransport{max: 8}
	q := newTestQueue(t, f, 8, false)
	a, _ := q.Add(virtio.Buffer{Addr: 1, Len: 8, Write: true})
	b, _ := q.Add(virtio.Buffer{Addr: 2, Len: 8}, virtio.Buffer{Addr: 3, Len: 8, Write: true})
	q.Kick()
	var heads []uint16
	q.Detach(func(h uint16) { heads = append(heads, h) })
	if len(heads) != 2 || q.Free() != 8 || q.InFlight() != 0 || !(heads[0] == a && heads[1] == b || heads[0] == b && heads[1] == a) {
		t.Fatalf("detached %v, free %d", heads, q.Free())
	}
}

func TestQueueAllocs(t *testing.T) {
	f := &fakeTransport{max: 256}
	q := newTestQueue(t, f, 256, true)
	var idx uint16
	n := testing.AllocsPerRun(1000, func() {
		h, err := q.Add(virtio.Buffer{Addr: 1, Len: 12}, virtio.Buffer{Addr: 2, Len: 1500, Write: true})
		if err != nil {
			t.Fatal(err)
		}
		q.Kick()
		f.complete(idx, uint32(h), 100)
		idx++
		q.DisableInterrupts()
		if u, ok := q.Get(); !ok || u.Err != nil {
			t.Fatal(u.Err)
		}
		q.EnableInterrupts()
	})
	if n != 0 {
		t.Errorf("%v allocations per chain", n)
	}
}
