// Package virtio drives virtio devices through the legacy PCI interface of
// the Virtual I/O Device (VIRTIO) specification, version 1.2: the register
// block in I/O BAR 0 (4.1.4.8, "Legacy Interfaces: A Note on PCI Device
// Layout"), the initialization sequence (3.1) and split virtqueues laid out
// for legacy devices (2.7, 2.7.2 "Legacy Interfaces: A Note on Virtqueue
// Layout"). Section numbers in comments refer to that specification.
//
// Like the e1000 driver it reaches the hardware only through two small
// interfaces, Ports for the register block and DMA for memory the device
// reads and writes, so the same code runs against a software device model
// under go test and against QEMU's devices in the unikernel. Device drivers
// (the entropy source in package virtio/rng) build on Device and Queue.
package virtio

import (
	"errors"
	"fmt"
)

// PCI identity of virtio devices (4.1.2): transitional devices, which offer
// the legacy interface, have device IDs 0x1000-0x103F and the virtio device
// ID in their PCI subsystem ID.
const (
	VendorID = 0x1AF4

	DeviceIDTransitionalEntropy = 0x1005
	SubsystemEntropy            = 4 // virtio device ID 4: entropy source (5.4)
)

// Legacy register block in I/O BAR 0 (4.1.4.8), without MSI-X: offsets
// and widths as in the specification's legacy header.
const (
	DEVICE_FEATURES = 0x00 // 32 bits, read-only
	DRIVER_FEATURES = 0x04 // 32 bits
	QUEUE_ADDRESS   = 0x08 // 32 bits: page frame number of the queue
	QUEUE_SIZE      = 0x0C // 16 bits, read-only
	QUEUE_SELECT    = 0x0E // 16 bits
	QUEUE_NOTIFY    = 0x10 // 16 bits
	DEVICE_STATUS   = 0x12 // 8 bits
	ISR_STATUS      = 0x13 // 8 bits, read clears
	DEVICE_CONFIG   = 0x14 // device-specific configuration
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

// Ports is access to the legacy register block: I/O ports at BAR 0 on
// hardware, a device model in tests. Offsets are from the BAR's base.
type Ports interface {
	In8(off uint16) uint8
	In16(off uint16) uint16
	In32(off uint16) uint32
	Out8(off uint16, v uint8)
	Out16(off uint16, v uint16)
	Out32(off uint16, v uint32)
}

// DMA allocates memory the device can read and write: busAddr is the
// address the device uses for buf[0], and buf stays valid and fixed.
type DMA interface {
	Alloc(size, align int) (buf []byte, busAddr uint64, err error)
}

// Errors.
var (
	ErrDeviceFailed = errors.New("virtio: device reports an error (DEVICE_NEEDS_RESET or FAILED)")
	ErrNoQueue      = errors.New("virtio: no such queue")
	ErrQueueSize    = errors.New("virtio: queue size unusable")
	ErrDMA          = errors.New("virtio: DMA memory unusable")
	ErrTimeout      = errors.New("virtio: request not completed in time")
)

// Device is one virtio device on the legacy interface, between Open and
// Ready: the driver sets up its queues and then tells the device it is
// ready.
type Device struct {
	ports    Ports
	features uint32
}

// Open resets the device and starts the initialization sequence (3.1.1,
// with the legacy interface's lack of FEATURES_OK): ACKNOWLEDGE, DRIVER,
// then the features both sides support among want. Set up the queues next,
// then call Ready.
func Open(ports Ports, want uint32) (*Device, error) {
	d := &Device{ports: ports}
	ports.Out8(DEVICE_STATUS, 0) // reset
	if s := ports.In8(DEVICE_STATUS); s != 0 {
		return nil, fmt.Errorf("virtio: status %#x after reset, want 0", s)
	}
	ports.Out8(DEVICE_STATUS, STATUS_ACKNOWLEDGE)
	ports.Out8(DEVICE_STATUS, STATUS_ACKNOWLEDGE|STATUS_DRIVER)
	d.features = ports.In32(DEVICE_FEATURES) & want
	ports.Out32(DRIVER_FEATURES, d.features)
	return d, nil
}

// Features returns the negotiated feature bits.
func (d *Device) Features() uint32 { return d.features }

// Ready sets DRIVER_OK: the device may use its queues from now on.
func (d *Device) Ready() error {
	d.ports.Out8(DEVICE_STATUS, STATUS_ACKNOWLEDGE|STATUS_DRIVER|STATUS_DRIVER_OK)
	return d.Check()
}

// Fail sets FAILED, telling the device the driver gave up on it (3.1.1).
func (d *Device) Fail() {
	d.ports.Out8(DEVICE_STATUS, d.ports.In8(DEVICE_STATUS)|STATUS_FAILED)
}

// Check reports ErrDeviceFailed if the device asks to be reset or was
// given up on.
func (d *Device) Check() error {
	if s := d.ports.In8(DEVICE_STATUS); s&(STATUS_DEVICE_NEEDS_RESET|STATUS_FAILED) != 0 {
		return fmt.Errorf("%w: status %#x", ErrDeviceFailed, s)
	}
	return nil
}
