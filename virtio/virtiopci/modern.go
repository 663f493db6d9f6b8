package virtiopci

import (
	"fmt"

	"tamanet/virtio"
)

// Common configuration structure (4.1.4.3), offsets from its start. Each
// field is accessed with its own width, as 4.1.3.1 requires; the 64-bit
// queue addresses as two 32-bit writes, low half first.
const (
	DEVICE_FEATURE_SELECT = 0x00 // 32
	DEVICE_FEATURE        = 0x04 // 32, read-only
	DRIVER_FEATURE_SELECT = 0x08 // 32
	DRIVER_FEATURE        = 0x0C // 32
	CONFIG_MSIX           = 0x10 // 16
	NUM_QUEUES            = 0x12 // 16, read-only
	COMMON_STATUS         = 0x14 // 8
	CONFIG_GENERATION     = 0x15 // 8, read-only
	Q_SELECT              = 0x16 // 16
	Q_SIZE                = 0x18 // 16
	Q_MSIX_VECTOR         = 0x1A // 16
	Q_ENABLE              = 0x1C // 16
	Q_NOTIFY_OFF          = 0x1E // 16, read-only
	Q_DESC                = 0x20 // 64
	Q_DRIVER              = 0x28 // 64
	Q_DEVICE              = 0x30 // 64

	// CommonLen is the part of the structure this driver uses.
	CommonLen = 0x38
)

// noNotify marks a queue not set up, which Notify leaves alone.
const noNotify = ^uint32(0)

// configRetries bounds ReadConfig's re-reads while the device keeps
// changing its configuration.
const configRetries = 64

// Region is one virtio structure: Len bytes at Off of a mapped BAR.
type Region struct {
	W        virtio.Window
	Off, Len uint32
}

// Modern is the modern PCI transport (4.1.4): the common, notify, ISR and
// device configuration structures the vendor capabilities point at.
type Modern struct {
	common, notify, isr, device Region
	// notifyMult is notify_off_multiplier (4.1.4.4); notifyAt holds each
	// queue's notification address in the window (noNotify until set up).
	notifyMult uint32
	notifyAt   []uint32
}

var _ virtio.Transport = (*Modern)(nil)

// NewModern returns the transport over the four structures; device may be
// empty (Len 0) for a device type without configuration. It checks the
// regions are large enough for what the driver touches.
func NewModern(common, notify, isr, device Region, notifyMultiplier uint32) (*Modern, error) {
	switch {
	case common.W == nil || common.Len < CommonLen:
		return nil, fmt.Errorf("virtio-pci: common configuration of %d bytes, want %d", common.Len, CommonLen)
	case notify.W == nil || notify.Len < 2:
		return nil, fmt.Errorf("virtio-pci: notify region of %d bytes", notify.Len)
	case isr.W == nil || isr.Len < 1:
		return nil, fmt.Errorf("virtio-pci: no ISR status")
	}
	m := &Modern{common: common, notify: notify, isr: isr, device: device, notifyMult: notifyMultiplier}
	m.notifyAt = make([]uint32, m.common.W.Read16(m.common.Off+NUM_QUEUES))
	for i := range m.notifyAt {
		m.notifyAt[i] = noNotify
	}
	return m, nil
}

func (m *Modern) c8(off uint32) uint8      { return m.common.W.Read8(m.common.Off + off) }
func (m *Modern) c16(off uint32) uint16    { return m.common.W.Read16(m.common.Off + off) }
func (m *Modern) c32(off uint32) uint32    { return m.common.W.Read32(m.common.Off + off) }
func (m *Modern) w8(off uint32, v uint8)   { m.common.W.Write8(m.common.Off+off, v) }
func (m *Modern) w16(off uint32, v uint16) { m.common.W.Write16(m.common.Off+off, v) }
func (m *Modern) w32(off uint32, v uint32) { m.common.W.Write32(m.common.Off+off, v) }
func (m *Modern) w64(off uint32, v uint64) {
	m.w32(off, uint32(v))
	m.w32(off+4, uint32(v>>32))
}

func (m *Modern) Name() string { return "pci-modern" }
func (m *Modern) Legacy() bool { return false }

func (m *Modern) Reset() error {
	m.w8(COMMON_STATUS, 0)
	return virtio.WaitReset(m.Status)
}

func (m *Modern) Status() uint8     { return m.c8(COMMON_STATUS) }
func (m *Modern) SetStatus(s uint8) { m.w8(COMMON_STATUS, s) }

// DeviceFeatures reads both 32-bit halves through the select register.
func (m *Modern) DeviceFeatures() uint64 {
	m.w32(DEVICE_FEATURE_SELECT, 0)
	lo := m.c32(DEVICE_FEATURE)
	m.w32(DEVICE_FEATURE_SELECT, 1)
	return uint64(lo) | uint64(m.c32(DEVICE_FEATURE))<<32
}

func (m *Modern) SetDriverFeatures(f uint64) {
	m.w32(DRIVER_FEATURE_SELECT, 0)
	m.w32(DRIVER_FEATURE, uint32(f))
	m.w32(DRIVER_FEATURE_SELECT, 1)
	m.w32(DRIVER_FEATURE, uint32(f>>32))
}

// ReadConfig reads until config_generation is the same before and after
// (4.1.4.3.1). Bytes beyond the device's structure read as zero.
func (m *Modern) ReadConfig(off int, p []byte) {
	clear(p)
	n := max(0, min(len(p), int(m.device.Len)-off))
	for range configRetries {
		gen := m.c8(CONFIG_GENERATION)
		if n > 0 {
			virtio.ReadWindow(m.device.W, m.device.Off+uint32(off), p[:n])
		}
		if m.c8(CONFIG_GENERATION) == gen {
			return
		}
	}
}

// WriteConfig writes device configuration; bytes beyond the structure
// are dropped.
func (m *Modern) WriteConfig(off int, p []byte) {
	if n := max(0, min(len(p), int(m.device.Len)-off)); n > 0 {
		virtio.WriteWindow(m.device.W, m.device.Off+uint32(off), p[:n])
	}
}

// QueueMax reads queue_size, which holds the maximum until the driver
// writes it.
func (m *Modern) QueueMax(q uint16) uint16 {
	if int(q) >= len(m.notifyAt) {
		return 0
	}
	m.w16(Q_SELECT, q)
	return m.c16(Q_SIZE)
}

// SetupQueue programs queue q (4.1.5.1.3) and enables it.
func (m *Modern) SetupQueue(q uint16, size uint16, r virtio.RingAddrs, vector uint16) error {
	if int(q) >= len(m.notifyAt) {
		return fmt.Errorf("%w: queue %d of %d", virtio.ErrNoQueue, q, len(m.notifyAt))
	}
	m.w16(Q_SELECT, q)
	switch max := m.c16(Q_SIZE); {
	case max == 0:
		return fmt.Errorf("%w: queue %d", virtio.ErrNoQueue, q)
	case size == 0 || size > max || size&(size-1) != 0:
		return fmt.Errorf("%w: %d entries for queue %d (at most %d, a power of 2)", virtio.ErrQueueSize, size, q, max)
	}
	if m.c16(Q_ENABLE) != 0 {
		return fmt.Errorf("virtio: queue %d is already in use", q)
	}
	notifyAt := uint32(m.c16(Q_NOTIFY_OFF)) * m.notifyMult
	if uint64(notifyAt)+2 > uint64(m.notify.Len) {
		return fmt.Errorf("virtio-pci: queue %d notifies at %#x, beyond the %d-byte notify region", q, notifyAt, m.notify.Len)
	}
	m.w16(Q_SIZE, size)
	m.w16(Q_MSIX_VECTOR, vector)
	if got := m.c16(Q_MSIX_VECTOR); got != vector {
		return fmt.Errorf("virtio: queue %d: device took MSI-X vector %d as %#x", q, vector, got)
	}
	m.w64(Q_DESC, r.Desc)
	m.w64(Q_DRIVER, r.Avail)
	m.w64(Q_DEVICE, r.Used)
	m.notifyAt[q] = m.notify.Off + notifyAt
	m.w16(Q_ENABLE, 1)
	return nil
}

func (m *Modern) SetConfigVector(vector uint16) error {
	m.w16(CONFIG_MSIX, vector)
	if got := m.c16(CONFIG_MSIX); got != vector {
		return fmt.Errorf("virtio: device took configuration MSI-X vector %d as %#x", vector, got)
	}
	return nil
}

// Notify writes the queue's index at its notification address (4.1.4.4);
// a queue not set up has none, and a notification for it is a driver bug
// dropped here rather than written anywhere.
func (m *Modern) Notify(q uint16) {
	if int(q) < len(m.notifyAt) && m.notifyAt[q] != noNotify {
		m.notify.W.Write16(m.notifyAt[q], q)
	}
}

// AckInterrupt reads the ISR status byte, which clears it (4.1.4.5).
func (m *Modern) AckInterrupt() uint8 { return m.isr.W.Read8(m.isr.Off) }
