package rng

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"tamanet/devmodel/arena"
	"tamanet/virtio"
	vmodel "tamanet/virtio/model"
	"tamanet/virtio/rng/model"
)

// rig is the driver on a model device, behind one transport, with its own
// DMA arena.
type rig struct {
	m     *model.RNG
	arena *arena.Arena
	r     *RNG
	slept time.Duration
}

// onEveryTransport runs test once per transport the model has.
func onEveryTransport(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range vmodel.Kinds {
		t.Run(kind, func(t *testing.T) { test(t, kind) })
	}
}

// transport puts a model device behind kind.
func transport(t *testing.T, m *model.RNG, kind string) virtio.Transport {
	t.Helper()
	tr, err := m.Device().Transport(kind)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Name() != kind {
		t.Fatalf("transport %q is named %q", kind, tr.Name())
	}
	return tr
}

func newRig(t *testing.T, kind string, mcfg model.Config, cfg Config) *rig {
	t.Helper()
	g := &rig{arena: arena.New(64 << 10)}
	mcfg.Memory = g.arena
	g.m = model.New(mcfg)
	if cfg.Sleep == nil {
		cfg.Sleep = func(d time.Duration) { g.slept += d }
	}
	r, err := New(transport(t, g.m, kind), g.arena, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	g.r = r
	return g
}

// counting returns n bytes 0, 1, 2, ... starting at from, as the model's
// default source produces them.
func counting(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(from + i)
	}
	return b
}

// TestInitSequence: reset, ACKNOWLEDGE, DRIVER, no features (but
// VERSION_1 and FEATURES_OK on a modern transport), the queue at a
// page-aligned address, then DRIVER_OK (3.1.1).
func TestInitSequence(t *testing.T) {
	onEveryTransport(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, model.Config{}, Config{})
		s := g.m.Device().Stats()
		const ack, drv, ok, fok = virtio.STATUS_ACKNOWLEDGE, virtio.STATUS_DRIVER, virtio.STATUS_DRIVER_OK, virtio.STATUS_FEATURES_OK
		want, features := []uint8{ack, ack | drv, ack | drv | fok, ack | drv | fok | ok}, virtio.Bit(virtio.VIRTIO_F_VERSION_1)
		if g.r.dev.Transport().Legacy() {
			want, features = []uint8{ack, ack | drv, ack | drv | ok}, 0
		}
		if s.Resets != 1 || !bytes.Equal(s.StatusTransitions, want) || s.FeaturesAcked != features {
			t.Errorf("resets %d, status %v (want %v), features %#x (want %#x)", s.Resets, s.StatusTransitions, want, s.FeaturesAcked, features)
		}
		if q, _ := g.m.Device().Queue(0); !q.Ready || q.Desc%virtio.QueueAlign != 0 || q.Size != 8 {
			t.Errorf("queue %+v", q)
		}
		if s.UnknownRegAccesses != 0 || s.BadQueue != 0 || s.FeaturesRefused != 0 {
			t.Errorf("model stats %+v", s)
		}
	})
}

// TestReadFillsFromDevice: reads of any size come back as the device's
// bytes, in order, in requests of at most BufferSize.
func TestReadFillsFromDevice(t *testing.T) {
	onEveryTransport(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, model.Config{}, Config{BufferSize: 32})
		p := make([]byte, 100)
		if n, err := g.r.Read(p); n != 100 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		if !bytes.Equal(p, counting(0, 100)) {
			t.Errorf("read %v", p)
		}
		q := make([]byte, 5)
		g.r.Read(q)
		if !bytes.Equal(q, counting(100, 5)) {
			t.Errorf("second read %v", q)
		}
		if s := g.r.Stats(); s.Requests != 5 || s.Bytes != 105 {
			t.Errorf("stats %+v, want 5 requests (32+32+32+4, 5), 105 bytes", s)
		}
		// More requests than the queue has entries: descriptors are recycled.
		big := make([]byte, 32*20)
		if n, err := g.r.Read(big); n != len(big) || err != nil {
			t.Fatalf("Read of 20 requests = %d, %v", n, err)
		}
	})
}

// TestShortAnswers: a device that returns less than asked is asked again.
func TestShortAnswers(t *testing.T) {
	onEveryTransport(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, model.Config{MaxPerRequest: 7}, Config{})
		p := make([]byte, 30)
		if n, err := g.r.Read(p); n != 30 || err != nil || !bytes.Equal(p, counting(0, 30)) {
			t.Fatalf("Read = %d, %v, %v", n, err, p)
		}
		if s := g.r.Stats(); s.Requests != 5 {
			t.Errorf("%d requests for 30 bytes at 7 per answer, want 5", s.Requests)
		}
	})
}

// TestTimeout: a device that never answers costs a bounded wait, then an
// error naming the timeout, and the driver gives up on it.
func TestTimeout(t *testing.T) {
	onEveryTransport(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, model.Config{Deferred: true}, Config{Timeout: 10 * time.Millisecond})
		n, err := g.r.Read(make([]byte, 8))
		if n != 0 || !errors.Is(err, virtio.ErrTimeout) {
			t.Fatalf("Read = %d, %v; want ErrTimeout", n, err)
		}
		if g.slept < 10*time.Millisecond || g.slept > 10*time.Millisecond+2*pollPeriod {
			t.Errorf("waited %v for a 10ms timeout", g.slept)
		}
		if _, err := g.r.Read(make([]byte, 8)); !errors.Is(err, ErrClosed) {
			t.Errorf("Read after the timeout: %v, want ErrClosed", err)
		}
		if st := g.m.Device().Status(); st&virtio.STATUS_FAILED == 0 {
			t.Errorf("device status %#x: FAILED not set", st)
		}
		if s := g.r.Stats(); s.Timeouts != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

// TestDeviceNeedsReset: a device that reports an error fails the read at
// once instead of waiting out the timeout.
func TestDeviceNeedsReset(t *testing.T) {
	onEveryTransport(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, model.Config{Deferred: true}, Config{Timeout: time.Hour})
		g.m.Device().SetNeedsReset()
		if _, err := g.r.Read(make([]byte, 8)); !errors.Is(err, virtio.ErrDeviceFailed) {
			t.Fatalf("Read: %v, want ErrDeviceFailed", err)
		}
		if g.slept > time.Millisecond {
			t.Errorf("waited %v", g.slept)
		}
	})
}

// TestAsyncDevice: the device answers from its own goroutine, as QEMU's
// does from its main loop, while readers on several goroutines share the
// driver. Under -race this checks that the driver reads the used element
// and the buffer only after its atomic load of the used index.
func TestAsyncDevice(t *testing.T) {
	onEveryTransport(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, model.Config{Async: true}, Config{Sleep: func(time.Duration) { time.Sleep(pollPeriod) }})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				p := make([]byte, 200)
				for range 20 {
					if n, err := g.r.Read(p); n != len(p) || err != nil {
						t.Errorf("Read = %d, %v", n, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if s := g.r.Stats(); s.Bytes != 4*20*200 {
			t.Errorf("stats %+v, want %d bytes", s, 4*20*200)
		}
	})
}

// TestBadQueues: a queue size that is not a power of two, or a queue the
// device does not have, is refused with a clear error.
func TestBadQueues(t *testing.T) {
	onEveryTransport(t, func(t *testing.T, kind string) {
		for _, size := range []uint16{6, 0xFFFF} {
			mem := arena.New(64 << 10)
			m := model.New(model.Config{Memory: mem, QueueSize: size})
			if _, err := New(transport(t, m, kind), mem, Config{}); !errors.Is(err, virtio.ErrQueueSize) {
				t.Errorf("queue size %d: %v, want ErrQueueSize", size, err)
			}
		}
		mem := arena.New(64 << 10)
		tr := transport(t, model.New(model.Config{Memory: mem}), kind)
		if _, err := virtio.Init(tr, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := virtio.NewQueue(tr, 1, 0, mem, virtio.NoVector, false); !errors.Is(err, virtio.ErrNoQueue) {
			t.Errorf("queue 1: %v, want ErrNoQueue", err)
		}
	})
}

// TestNoAllocsPerRead: a steady-state read allocates nothing.
func TestNoAllocsPerRead(t *testing.T) {
	onEveryTransport(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, model.Config{}, Config{})
		p := make([]byte, 32)
		if a := testing.AllocsPerRun(100, func() { g.r.Read(p) }); a != 0 {
			t.Errorf("%.1f allocations per Read", a)
		}
	})
}
