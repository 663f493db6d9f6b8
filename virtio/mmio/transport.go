// Package mmio is the virtio-mmio transport (Virtual I/O Device
// specification 1.2, 4.2): a window of 32-bit registers per device, as on
// QEMU's microvm machine, in version 2 (4.2.2) and in the legacy version 1
// (4.2.4, QueuePFN and GuestPageSize), and the discovery of such devices
// from the kernel command line's virtio_mmio.device= entries.
package mmio

import (
	"fmt"

	"tamanet/virtio"
)

// Register layout (4.2.2, 4.2.4). Every register is 32 bits wide and read
// and written with 32-bit accesses.
const (
	MagicValue        = 0x000
	Version           = 0x004
	DeviceID          = 0x008
	VendorID          = 0x00c
	DeviceFeatures    = 0x010
	DeviceFeaturesSel = 0x014
	DriverFeatures    = 0x020
	DriverFeaturesSel = 0x024
	GuestPageSize     = 0x028 // version 1 only
	QueueSel          = 0x030
	QueueNumMax       = 0x034
	QueueNum          = 0x038
	QueueAlign        = 0x03c // version 1 only
	QueuePFN          = 0x040 // version 1 only
	QueueReady        = 0x044 // version 2 only
	QueueNotify       = 0x050
	InterruptStatus   = 0x060
	InterruptACK      = 0x064
	Status            = 0x070
	QueueDescLow      = 0x080
	QueueDescHigh     = 0x084
	QueueDriverLow    = 0x090
	QueueDriverHigh   = 0x094
	QueueDeviceLow    = 0x0a0
	QueueDeviceHigh   = 0x0a4
	ConfigGeneration  = 0x0fc // version 2 only
	Config            = 0x100

	// Magic is "virt" in little-endian byte order.
	Magic = 0x74726976
)

// configRetries bounds ReadConfig's re-reads while the device keeps
// changing its configuration.
const configRetries = 64

// Transport is one virtio-mmio device, version 1 or 2.
type Transport struct {
	w       virtio.Window
	version uint32
	size    uint32 // the window's size: device configuration ends there
}

var _ virtio.Transport = (*Transport)(nil)

// New returns the transport over the register window w of size bytes,
// after checking the magic value and the version (1 or 2).
func New(w virtio.Window, size uint32) (*Transport, error) {
	if m := w.Read32(MagicValue); m != Magic {
		return nil, fmt.Errorf("virtio-mmio: magic %#x, want %#x (\"virt\")", m, Magic)
	}
	v := w.Read32(Version)
	if v != 1 && v != 2 {
		return nil, fmt.Errorf("virtio-mmio: version %d, want 1 or 2", v)
	}
	if size < Config {
		return nil, fmt.Errorf("virtio-mmio: %d-byte window, want at least %d", size, Config)
	}
	return &Transport{w: w, version: v, size: size}, nil
}

// DeviceID is the virtio device ID; 0 is an empty transport.
func (t *Transport) DeviceID() uint32 { return t.w.Read32(DeviceID) }

// Version is the register layout's version, 1 (legacy) or 2.
func (t *Transport) Version() uint32 { return t.version }

func (t *Transport) Name() string {
	if t.version == 1 {
		return "mmio-v1"
	}
	return "mmio-v2"
}

func (t *Transport) Legacy() bool { return t.version == 1 }

func (t *Transport) Reset() error {
	t.w.Write32(Status, 0)
	return virtio.WaitReset(t.Status)
}

func (t *Transport) Status() uint8     { return uint8(t.w.Read32(Status)) }
func (t *Transport) SetStatus(s uint8) { t.w.Write32(Status, uint32(s)) }

// DeviceFeatures reads bits 0-31, and on version 2 bits 32-63 too.
func (t *Transport) DeviceFeatures() uint64 {
	t.w.Write32(DeviceFeaturesSel, 0)
	f := uint64(t.w.Read32(DeviceFeatures))
	if t.version == 2 {
		t.w.Write32(DeviceFeaturesSel, 1)
		f |= uint64(t.w.Read32(DeviceFeatures)) << 32
	}
	return f
}

func (t *Transport) SetDriverFeatures(f uint64) {
	t.w.Write32(DriverFeaturesSel, 0)
	t.w.Write32(DriverFeatures, uint32(f))
	if t.version == 2 {
		t.w.Write32(DriverFeaturesSel, 1)
		t.w.Write32(DriverFeatures, uint32(f>>32))
	}
}

// ReadConfig reads device configuration, on version 2 until
// ConfigGeneration is the same before and after (4.2.2.2). Bytes beyond
// the window read as zero.
func (t *Transport) ReadConfig(off int, p []byte) {
	clear(p)
	n := max(0, min(len(p), int(t.size-Config)-off))
	if n == 0 {
		return
	}
	for range configRetries {
		var gen uint32
		if t.version == 2 {
			gen = t.w.Read32(ConfigGeneration)
		}
		virtio.ReadWindow(t.w, Config+uint32(off), p[:n])
		if t.version == 1 || t.w.Read32(ConfigGeneration) == gen {
			return
		}
	}
}

func (t *Transport) WriteConfig(off int, p []byte) {
	if n := max(0, min(len(p), int(t.size-Config)-off)); n > 0 {
		virtio.WriteWindow(t.w, Config+uint32(off), p[:n])
	}
}

func (t *Transport) QueueMax(q uint16) uint16 {
	t.w.Write32(QueueSel, uint32(q))
	return uint16(min(t.w.Read32(QueueNumMax), 0xFFFF))
}

// SetupQueue programs queue q: on version 2 its three ring addresses and
// QueueReady (4.2.3.2), on version 1 its page number, which needs the
// legacy ring layout (4.2.4). virtio-mmio has no MSI-X.
func (t *Transport) SetupQueue(q uint16, size uint16, r virtio.RingAddrs, vector uint16) error {
	if vector != virtio.NoVector {
		return fmt.Errorf("virtio-mmio: queue %d: MSI-X vector %d on a transport without MSI-X", q, vector)
	}
	t.w.Write32(QueueSel, uint32(q))
	switch max := t.w.Read32(QueueNumMax); {
	case max == 0:
		return fmt.Errorf("%w: queue %d", virtio.ErrNoQueue, q)
	case size == 0 || uint32(size) > max || size&(size-1) != 0:
		return fmt.Errorf("%w: %d entries for queue %d (at most %d, a power of 2)", virtio.ErrQueueSize, size, q, max)
	}
	if t.version == 1 {
		if err := virtio.CheckLegacyRing(q, size, r); err != nil {
			return err
		}
		if t.w.Read32(QueuePFN) != 0 {
			return fmt.Errorf("virtio: queue %d is already in use", q)
		}
		t.w.Write32(GuestPageSize, virtio.QueueAlign)
		t.w.Write32(QueueNum, uint32(size))
		t.w.Write32(QueueAlign, virtio.QueueAlign)
		t.w.Write32(QueuePFN, uint32(r.Desc>>virtio.QueueAddrShift))
		return nil
	}
	if t.w.Read32(QueueReady) != 0 {
		return fmt.Errorf("virtio: queue %d is already in use", q)
	}
	t.w.Write32(QueueNum, uint32(size))
	for _, a := range []struct {
		reg  uint32
		addr uint64
	}{{QueueDescLow, r.Desc}, {QueueDriverLow, r.Avail}, {QueueDeviceLow, r.Used}} {
		t.w.Write32(a.reg, uint32(a.addr))
		t.w.Write32(a.reg+4, uint32(a.addr>>32))
	}
	t.w.Write32(QueueReady, 1)
	return nil
}

func (t *Transport) SetConfigVector(vector uint16) error {
	if vector != virtio.NoVector {
		return fmt.Errorf("virtio-mmio: MSI-X vector %d on a transport without MSI-X", vector)
	}
	return nil
}

func (t *Transport) Notify(q uint16) { t.w.Write32(QueueNotify, uint32(q)) }

// AckInterrupt reads InterruptStatus and acknowledges what it found.
func (t *Transport) AckInterrupt() uint8 {
	s := t.w.Read32(InterruptStatus)
	if s != 0 {
		t.w.Write32(InterruptACK, s)
	}
	return uint8(s)
}
