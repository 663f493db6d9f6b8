package model_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"tamanet/devmodel/arena"
	"tamanet/virtio"
	"tamanet/virtio/model"
	"tamanet/virtio/virtiopci"
)

// notes is a backend that records notifications.
type notes struct {
	mu     sync.Mutex
	queues []uint16
	resets int
}

func (n *notes) Reset() { n.resets++ }
func (n *notes) Notify(q uint16) {
	n.mu.Lock()
	n.queues = append(n.queues, q)
	n.mu.Unlock()
}

// rig is a two-queue device with configuration behind one transport.
type rig struct {
	d   *model.Device
	be  *notes
	t   virtio.Transport
	mem *arena.Arena
}

var config = []byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x01, 0x00, 0xDC, 0x05}

func newRig(t *testing.T, kind string, adjust func(*model.Spec)) *rig {
	t.Helper()
	g := &rig{be: &notes{}, mem: arena.New(1 << 20)}
	spec := model.Spec{DeviceID: virtio.DeviceNet, QueueMax: []uint16{256, 64}, Config: config, Memory: g.mem,
		Features: virtio.Bit(5) | virtio.Bit(virtio.VIRTIO_F_RING_EVENT_IDX) | virtio.Bit(virtio.VIRTIO_F_ACCESS_PLATFORM)}
	if adjust != nil {
		adjust(&spec)
	}
	g.d = model.New(spec, g.be)
	tr, err := g.d.Transport(kind)
	if err != nil {
		t.Fatal(err)
	}
	g.t = tr
	return g
}

func each(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range model.Kinds {
		t.Run(kind, func(t *testing.T) { test(t, kind) })
	}
}

// legacy reports whether kind is a legacy interface.
func legacy(kind string) bool { return kind == "pci-legacy" || kind == "mmio-v1" }

// TestNegotiation: the driver gets what both sides have among what it
// wants; VERSION_1 always on modern transports; legacy ones see bits
// 0-31 only; the driver used each register with its width.
func TestNegotiation(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, nil)
		want := virtio.Bit(5) | virtio.Bit(virtio.VIRTIO_F_RING_EVENT_IDX) | virtio.Bit(virtio.VIRTIO_F_ACCESS_PLATFORM) | virtio.Bit(7)
		dev, err := virtio.Init(g.t, want)
		if err != nil {
			t.Fatal(err)
		}
		exp := virtio.Bit(5) | virtio.Bit(virtio.VIRTIO_F_RING_EVENT_IDX)
		if !legacy(kind) {
			exp |= virtio.Bit(virtio.VIRTIO_F_ACCESS_PLATFORM) | virtio.Bit(virtio.VIRTIO_F_VERSION_1)
		}
		if dev.Features() != exp || g.d.Negotiated() != exp {
			t.Errorf("negotiated %#x, device has %#x, want %#x", dev.Features(), g.d.Negotiated(), exp)
		}
		st := virtio.STATUS_ACKNOWLEDGE | virtio.STATUS_DRIVER | virtio.STATUS_FEATURES_OK
		if legacy(kind) {
			st &^= virtio.STATUS_FEATURES_OK
		}
		if s := g.d.Status(); s != uint8(st) {
			t.Errorf("status %#x, want %#x", s, st)
		}
		if s := g.d.Stats(); s.UnknownRegAccesses != 0 || s.Resets != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

// TestFeaturesRefused: a device that needs a feature the driver does not
// take clears FEATURES_OK; the driver sees it, says so and sets FAILED.
// A legacy interface has no such step.
func TestFeaturesRefused(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, func(s *model.Spec) { s.Require = virtio.Bit(5) })
		_, err := virtio.Init(g.t, 0)
		if legacy(kind) {
			if err != nil {
				t.Fatalf("legacy Init: %v", err)
			}
			return
		}
		if !errors.Is(err, virtio.ErrFeaturesRefused) {
			t.Fatalf("Init: %v, want ErrFeaturesRefused", err)
		}
		if g.d.Status()&virtio.STATUS_FAILED == 0 || g.d.Stats().FeaturesRefused != 1 {
			t.Errorf("status %#x, stats %+v", g.d.Status(), g.d.Stats())
		}
	})
}

// TestNotModern: a modern transport's device without VERSION_1 is
// refused.
func TestNotModern(t *testing.T) {
	for _, kind := range []string{"pci-modern", "mmio-v2"} {
		g := newRig(t, kind, func(s *model.Spec) { s.NoVersion1 = true })
		if _, err := virtio.Init(g.t, 0); !errors.Is(err, virtio.ErrNotModern) {
			t.Errorf("%s: Init: %v, want ErrNotModern", kind, err)
		}
	}
}

// setup gives queue q its rings in the legacy layout at its largest
// size.
func (g *rig) setup(t *testing.T, q uint16) virtio.RingAddrs {
	t.Helper()
	size := g.t.QueueMax(q)
	_, bus, err := g.mem.Alloc(virtio.QueueBytes(int(size)), virtio.QueueAlign)
	if err != nil {
		t.Fatal(err)
	}
	r := virtio.LegacyRing(bus, size)
	if err := g.t.SetupQueue(q, size, r, virtio.NoVector); err != nil {
		t.Fatalf("SetupQueue(%d): %v", q, err)
	}
	return r
}

// TestQueuesAndNotify: queue setup reaches the device as written, a
// notification before DRIVER_OK is dropped and counted, after it reaches
// the backend; a reset forgets queues, features and status.
func TestQueuesAndNotify(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, nil)
		dev, err := virtio.Init(g.t, virtio.Bit(5))
		if err != nil {
			t.Fatal(err)
		}
		if g.t.QueueMax(0) != 256 || g.t.QueueMax(1) != 64 || g.t.QueueMax(2) != 0 {
			t.Errorf("queue sizes %d %d %d", g.t.QueueMax(0), g.t.QueueMax(1), g.t.QueueMax(2))
		}
		r0, r1 := g.setup(t, 0), g.setup(t, 1)
		for i, want := range []virtio.RingAddrs{r0, r1} {
			q, _ := g.d.Queue(uint16(i))
			if !q.Ready || q.Desc != want.Desc || q.Avail != want.Avail || q.Used != want.Used {
				t.Errorf("queue %d is %+v, want %+v", i, q, want)
			}
		}
		if err := g.t.SetupQueue(2, 8, virtio.LegacyRing(0x10000, 8), virtio.NoVector); !errors.Is(err, virtio.ErrNoQueue) {
			t.Errorf("queue 2: %v, want ErrNoQueue", err)
		}
		g.t.Notify(1)
		if err := dev.Ready(); err != nil {
			t.Fatal(err)
		}
		g.t.Notify(1)
		g.t.Notify(0)
		if s := g.d.Stats(); s.Notifies != 3 || s.NotifyBeforeReady != 1 || s.UnknownRegAccesses != 0 || s.BadQueue != 0 {
			t.Errorf("stats %+v", s)
		}
		if len(g.be.queues) != 2 || g.be.queues[0] != 1 || g.be.queues[1] != 0 {
			t.Errorf("backend saw notifications %v, want [1 0]", g.be.queues)
		}
		if err := g.t.Reset(); err != nil {
			t.Fatal(err)
		}
		if q, _ := g.d.Queue(0); q.Ready || g.d.Negotiated() != 0 || g.d.Status() != 0 || g.be.resets != 3 { // New, Init, Reset
			t.Errorf("after reset: queue %+v, features %#x, status %#x, %d backend resets", q, g.d.Negotiated(), g.d.Status(), g.be.resets)
		}
	})
}

// TestLegacyQueueSize: a legacy PCI device takes its own size only, and
// the rings in the legacy layout only.
func TestLegacyQueueSize(t *testing.T) {
	g := newRig(t, "pci-legacy", nil)
	if _, err := virtio.Init(g.t, 0); err != nil {
		t.Fatal(err)
	}
	if err := g.t.SetupQueue(0, 128, virtio.LegacyRing(0x10000, 128), virtio.NoVector); !errors.Is(err, virtio.ErrQueueSize) {
		t.Errorf("size 128 of 256: %v, want ErrQueueSize", err)
	}
	r := virtio.LegacyRing(0x10000, 256)
	r.Used += 8
	if err := g.t.SetupQueue(0, 256, r, virtio.NoVector); !errors.Is(err, virtio.ErrDMA) {
		t.Errorf("rings out of layout: %v, want ErrDMA", err)
	}
}

// TestInterruptStatus: the ISR (or InterruptStatus) reads what the device
// raised and the read (or the ACK) clears it.
func TestInterruptStatus(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, nil)
		if isr := g.t.AckInterrupt(); isr != 0 {
			t.Errorf("fresh ISR %#x", isr)
		}
		g.d.Raise(virtio.ISRQueue)
		g.d.SetConfig(8, []byte{0x28, 0x23})
		if isr := g.t.AckInterrupt(); isr != virtio.ISRQueue|virtio.ISRConfig {
			t.Errorf("ISR %#x, want queue and config", isr)
		}
		if isr := g.t.AckInterrupt(); isr != 0 {
			t.Errorf("ISR %#x after acknowledging", isr)
		}
	})
}

// TestConfig: device configuration reads back at any offset and width,
// writes reach the device, and what lies beyond it reads as the
// transport says (0 on modern and MMIO; 0xFF from the legacy block).
func TestConfig(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		g := newRig(t, kind, nil)
		p := make([]byte, len(config))
		g.t.ReadConfig(0, p)
		if !bytes.Equal(p, config) {
			t.Errorf("config % x, want % x", p, config)
		}
		q := make([]byte, 3)
		g.t.ReadConfig(5, q)
		if !bytes.Equal(q, config[5:8]) {
			t.Errorf("config[5:8] % x", q)
		}
		g.t.WriteConfig(0, []byte{0x02, 0x11})
		g.t.ReadConfig(0, q[:2])
		if q[0] != 0x02 || q[1] != 0x11 {
			t.Errorf("after write: % x", q[:2])
		}
		if s := g.d.Stats(); s.UnknownRegAccesses != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

// flaky wraps a modern PCI window and changes the configuration, as a
// device does on its own, during the driver's first read of it.
type flaky struct {
	*model.ModernPCI
	d      *model.Device
	change bool
}

func (f *flaky) Read16(off uint32) uint16 {
	v := f.ModernPCI.Read16(off)
	if off >= model.PCIDevice && f.change {
		f.change = false
		f.d.SetConfig(6, []byte{0x00, 0x00, 0x00, 0x23}) // link down, MTU 1500 -> 8960
	}
	return v
}

// TestConfigGeneration: a read that straddles a configuration change is
// done again (4.1.4.3.1), so the driver never sees half of each.
func TestConfigGeneration(t *testing.T) {
	g := newRig(t, "pci-modern", nil)
	w := &flaky{ModernPCI: g.d.ModernPCI(), d: g.d, change: true}
	common, notify, isr, device, mult := w.Regions()
	common.W, notify.W, isr.W, device.W = w, w, w, w
	tr, err := virtiopci.NewModern(common, notify, isr, device, mult)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4)
	tr.ReadConfig(6, p) // status and MTU
	if !bytes.Equal(p, []byte{0x00, 0x00, 0x00, 0x23}) {
		t.Errorf("config % x, want the new status and MTU, not half of each", p)
	}
}

// TestMSIXVectors: the modern transport writes vector numbers and checks
// the device took them; the legacy block has its vector registers (and
// configuration after them) only while MSI-X is enabled; virtio-mmio has
// no MSI-X at all.
func TestMSIXVectors(t *testing.T) {
	g := newRig(t, "pci-modern", nil)
	if err := g.t.SetConfigVector(0); err != nil {
		t.Errorf("config vector: %v", err)
	}
	size := g.t.QueueMax(1)
	if err := g.t.SetupQueue(1, size, virtio.LegacyRing(0x20000, size), 2); err != nil {
		t.Errorf("queue vector: %v", err)
	}
	if q, _ := g.d.Queue(1); q.Vector != 2 {
		t.Errorf("queue 1 vector %d", q.Vector)
	}

	g = newRig(t, "pci-legacy", nil)
	l := g.d.LegacyPCI()
	on := false
	tr := virtiopci.NewLegacy(l, func() bool { return on })
	if err := tr.SetConfigVector(1); err == nil {
		t.Error("a vector without MSI-X enabled was accepted")
	}
	on = true
	l.SetMSIX(true)
	if err := tr.SetConfigVector(1); err != nil {
		t.Errorf("config vector with MSI-X: %v", err)
	}
	p := make([]byte, len(config))
	tr.ReadConfig(0, p)
	if !bytes.Equal(p, config) {
		t.Errorf("config with MSI-X % x", p)
	}

	for _, kind := range []string{"mmio-v1", "mmio-v2"} {
		g := newRig(t, kind, nil)
		if err := g.t.SetConfigVector(0); err == nil {
			t.Errorf("%s took an MSI-X vector", kind)
		}
	}
	if s := g.d.Stats(); s.UnknownRegAccesses != 0 {
		t.Errorf("stats %+v", s)
	}
}
