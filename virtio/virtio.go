// Package virtio drives virtio devices as the Virtual I/O Device (VIRTIO)
// specification, version 1.2, defines them: the device initialization
// sequence (3.1) with 64-bit feature negotiation, over any Transport (the
// modern and legacy PCI transports in package virtio/virtiopci,
// virtio-mmio in package virtio/mmio), and split virtqueues (2.7). Section
// numbers in comments refer to that specification.
//
// Like the e1000 driver it reaches the hardware only through small
// interfaces (Transport, and below it Window and Ports for register
// windows; DMA for memory the device reads and writes), so the same code
// runs against a software device model under go test and against QEMU's
// devices in the unikernel. Device drivers (the entropy source in package
// virtio/rng) build on Device and Queue.
package virtio

import (
	"errors"
	"fmt"
)

// VendorID is the PCI vendor of every virtio device (4.1.2).
const VendorID = 0x1AF4

// Virtio device IDs (5).
const (
	DeviceNet     = 1
	DeviceEntropy = 4
)

// Device status bits (2.1).
const (
	STATUS_ACKNOWLEDGE        = 1
	STATUS_DRIVER             = 2
	STATUS_DRIVER_OK          = 4
	STATUS_FEATURES_OK        = 8
	STATUS_DEVICE_NEEDS_RESET = 64
	STATUS_FAILED             = 128
)

// Reserved feature bits every device type shares (6).
const (
	VIRTIO_F_RING_INDIRECT_DESC = 28
	VIRTIO_F_RING_EVENT_IDX     = 29
	VIRTIO_F_VERSION_1          = 32
	VIRTIO_F_ACCESS_PLATFORM    = 33
	VIRTIO_F_RING_PACKED        = 34
	VIRTIO_F_IN_ORDER           = 35
	VIRTIO_F_ORDER_PLATFORM     = 36
	VIRTIO_F_SR_IOV             = 37
	VIRTIO_F_NOTIFICATION_DATA  = 38
	VIRTIO_F_NOTIF_CONFIG_DATA  = 39
	VIRTIO_F_RING_RESET         = 40
)

// Bit returns the feature mask of bit b.
func Bit(b uint) uint64 { return 1 << b }

// Ports is access to a legacy register block: I/O ports at BAR 0 on
// hardware, a device model in tests. Offsets are from the BAR's base.
type Ports interface {
	In8(off uint16) uint8
	In16(off uint16) uint16
	In32(off uint16) uint32
	Out8(off uint16, v uint8)
	Out16(off uint16, v uint16)
	Out32(off uint16, v uint32)
}

// Window is a window of memory-mapped registers read and written with
// naturally aligned accesses of the register's width: a memory BAR or a
// virtio-mmio transport on hardware (board.MMIO), a device model in tests.
type Window interface {
	Read8(off uint32) uint8
	Read16(off uint32) uint16
	Read32(off uint32) uint32
	Write8(off uint32, v uint8)
	Write16(off uint32, v uint16)
	Write32(off uint32, v uint32)
}

// DMA allocates memory the device can read and write: busAddr is the
// address the device uses for buf[0], and buf stays valid and fixed.
type DMA interface {
	Alloc(size, align int) (buf []byte, busAddr uint64, err error)
}

// DMAMapper is implemented by a DMA allocator that can also lend the device
// memory it did not allocate, for a while (Linux's dma_map_single): a
// driver's transmit path uses it to let the device read a frame's bytes
// where the stack keeps them. On the unikernel memory is identity mapped,
// so a heap buffer's address is its bus address (board.DMA.Map); in host
// tests the shared arena lends fake bus addresses until Unmap.
type DMAMapper interface {
	// Map returns the bus address of buf[0], valid until Unmap, or false
	// if the device cannot reach buf.
	Map(buf []byte) (busAddr uint64, ok bool)
	// Unmap ends a mapping of n bytes that Map made at busAddr.
	Unmap(busAddr uint64, n int)
}

// Errors.
var (
	ErrDeviceFailed    = errors.New("virtio: device reports an error (DEVICE_NEEDS_RESET or FAILED)")
	ErrNotModern       = errors.New("virtio: device on a modern transport does not offer VIRTIO_F_VERSION_1")
	ErrFeaturesRefused = errors.New("virtio: device refused the features (FEATURES_OK not kept)")
	ErrNoQueue         = errors.New("virtio: no such queue")
	ErrQueueSize       = errors.New("virtio: queue size unusable")
	ErrDMA             = errors.New("virtio: DMA memory unusable")
	ErrTimeout         = errors.New("virtio: request not completed in time")
)

// Device is one virtio device between Init and Ready: the driver sets up
// its queues and then tells the device it is ready.
type Device struct {
	t        Transport
	features uint64
	status   uint8 // what the driver has set so far
}

// Init resets the device behind t and runs the first steps of the
// initialization sequence (3.1.1): ACKNOWLEDGE, DRIVER, then the features
// both sides support among want. On a modern transport VIRTIO_F_VERSION_1
// is required and always accepted, and the device must keep FEATURES_OK
// set after the driver writes it; the legacy interface has neither step.
// Set up the queues next, then call Ready.
func Init(t Transport, want uint64) (*Device, error) {
	if err := t.Reset(); err != nil {
		return nil, err
	}
	d := &Device{t: t}
	d.set(STATUS_ACKNOWLEDGE)
	d.set(STATUS_DRIVER)
	offered := t.DeviceFeatures()
	if t.Legacy() {
		d.features = offered & want & 0xFFFFFFFF
		t.SetDriverFeatures(d.features)
		return d, nil
	}
	if offered&Bit(VIRTIO_F_VERSION_1) == 0 {
		d.Fail()
		return nil, fmt.Errorf("%w (offers %#x)", ErrNotModern, offered)
	}
	d.features = offered & (want | Bit(VIRTIO_F_VERSION_1))
	t.SetDriverFeatures(d.features)
	d.set(STATUS_FEATURES_OK)
	if t.Status()&STATUS_FEATURES_OK == 0 {
		d.Fail()
		return nil, fmt.Errorf("%w: %#x of %#x offered", ErrFeaturesRefused, d.features, offered)
	}
	return d, nil
}

// set adds bits to the device status the driver has written.
func (d *Device) set(bits uint8) {
	d.status |= bits
	d.t.SetStatus(d.status)
}

// Transport is the transport the device is on.
func (d *Device) Transport() Transport { return d.t }

// Features returns the negotiated feature bits.
func (d *Device) Features() uint64 { return d.features }

// Has reports whether feature bit b was negotiated.
func (d *Device) Has(b uint) bool { return d.features&Bit(b) != 0 }

// Ready sets DRIVER_OK: the device may use its queues from now on.
func (d *Device) Ready() error {
	d.set(STATUS_DRIVER_OK)
	return d.Check()
}

// Fail sets FAILED, telling the device the driver gave up on it (3.1.1).
func (d *Device) Fail() {
	d.t.SetStatus(d.t.Status() | STATUS_FAILED)
}

// Check reports ErrDeviceFailed if the device asks to be reset or was
// given up on.
func (d *Device) Check() error {
	if s := d.t.Status(); s&(STATUS_DEVICE_NEEDS_RESET|STATUS_FAILED) != 0 {
		return fmt.Errorf("%w: status %#x", ErrDeviceFailed, s)
	}
	return nil
}
