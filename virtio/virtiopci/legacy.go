package virtiopci

import (
	"fmt"

	"tamanet/virtio"
)

// Legacy register block in I/O BAR 0 (4.1.4.8): offsets and widths as in
// the specification's legacy header. With MSI-X enabled two vector
// registers follow ISR_STATUS and device configuration moves from
// DEVICE_CONFIG to DEVICE_CONFIG_MSIX.
const (
	DEVICE_FEATURES    = 0x00 // 32 bits, read-only
	DRIVER_FEATURES    = 0x04 // 32 bits
	QUEUE_ADDRESS      = 0x08 // 32 bits: page frame number of the queue
	QUEUE_SIZE         = 0x0C // 16 bits, read-only
	QUEUE_SELECT       = 0x0E // 16 bits
	QUEUE_NOTIFY       = 0x10 // 16 bits
	DEVICE_STATUS      = 0x12 // 8 bits
	ISR_STATUS         = 0x13 // 8 bits, read clears
	CONFIG_MSIX_VECTOR = 0x14 // 16 bits, MSI-X enabled only
	QUEUE_MSIX_VECTOR  = 0x16 // 16 bits, MSI-X enabled only
	DEVICE_CONFIG      = 0x14 // device-specific configuration, no MSI-X
	DEVICE_CONFIG_MSIX = 0x18 // device-specific configuration with MSI-X
)

// Legacy is the legacy PCI transport: the register block of a
// transitional device's I/O BAR 0.
type Legacy struct {
	p virtio.Ports
	// msix reports whether the function's MSI-X is enabled, which moves
	// device configuration (nil: never).
	msix func() bool
}

var _ virtio.Transport = (*Legacy)(nil)

// NewLegacy returns the transport over the register block p; msixEnabled
// (nil: MSI-X never enabled) tells where device configuration is.
func NewLegacy(p virtio.Ports, msixEnabled func() bool) *Legacy {
	return &Legacy{p: p, msix: msixEnabled}
}

func (l *Legacy) msixOn() bool { return l.msix != nil && l.msix() }

func (l *Legacy) Name() string { return "pci-legacy" }
func (l *Legacy) Legacy() bool { return true }

func (l *Legacy) Reset() error {
	l.p.Out8(DEVICE_STATUS, 0)
	return virtio.WaitReset(l.Status)
}

func (l *Legacy) Status() uint8              { return l.p.In8(DEVICE_STATUS) }
func (l *Legacy) SetStatus(s uint8)          { l.p.Out8(DEVICE_STATUS, s) }
func (l *Legacy) DeviceFeatures() uint64     { return uint64(l.p.In32(DEVICE_FEATURES)) }
func (l *Legacy) SetDriverFeatures(f uint64) { l.p.Out32(DRIVER_FEATURES, uint32(f)) }
func (l *Legacy) Notify(q uint16)            { l.p.Out16(QUEUE_NOTIFY, q) }
func (l *Legacy) AckInterrupt() uint8        { return l.p.In8(ISR_STATUS) }
func (l *Legacy) configBase() uint32 {
	if l.msixOn() {
		return DEVICE_CONFIG_MSIX
	}
	return DEVICE_CONFIG
}

// ReadConfig reads device configuration; the legacy interface has no
// generation counter, so a multi-byte field may tear (4.1.4.8).
func (l *Legacy) ReadConfig(off int, p []byte) {
	virtio.ReadWindow(virtio.PortsWindow{Ports: l.p}, l.configBase()+uint32(off), p)
}

func (l *Legacy) WriteConfig(off int, p []byte) {
	virtio.WriteWindow(virtio.PortsWindow{Ports: l.p}, l.configBase()+uint32(off), p)
}

// QueueMax is the one size the legacy device gives queue q.
func (l *Legacy) QueueMax(q uint16) uint16 {
	l.p.Out16(QUEUE_SELECT, q)
	return l.p.In16(QUEUE_SIZE)
}

// SetupQueue tells the device the page of queue q's block, which must be
// in the legacy layout at the device's size.
func (l *Legacy) SetupQueue(q uint16, size uint16, r virtio.RingAddrs, vector uint16) error {
	l.p.Out16(QUEUE_SELECT, q)
	switch max := l.p.In16(QUEUE_SIZE); {
	case max == 0:
		return fmt.Errorf("%w: queue %d", virtio.ErrNoQueue, q)
	case size != max:
		return fmt.Errorf("%w: %d entries, the legacy device has %d", virtio.ErrQueueSize, size, max)
	}
	if err := virtio.CheckLegacyRing(q, size, r); err != nil {
		return err
	}
	if l.p.In32(QUEUE_ADDRESS) != 0 {
		return fmt.Errorf("virtio: queue %d is already in use", q)
	}
	if err := l.setVector(QUEUE_MSIX_VECTOR, vector); err != nil {
		return fmt.Errorf("virtio: queue %d: %w", q, err)
	}
	l.p.Out32(QUEUE_ADDRESS, uint32(r.Desc>>virtio.QueueAddrShift))
	return nil
}

func (l *Legacy) SetConfigVector(vector uint16) error {
	return l.setVector(CONFIG_MSIX_VECTOR, vector)
}

// setVector writes an MSI-X vector register and reads it back: a device
// that could not map the vector reads NoVector (4.1.5.1.2.1).
func (l *Legacy) setVector(reg uint16, vector uint16) error {
	if !l.msixOn() {
		if vector != virtio.NoVector {
			return fmt.Errorf("MSI-X vector %d without MSI-X enabled", vector)
		}
		return nil
	}
	l.p.Out16(reg, vector)
	if got := l.p.In16(reg); got != vector {
		return fmt.Errorf("device took MSI-X vector %d as %#x", vector, got)
	}
	return nil
}
