// Package model is the device side of virtio's transports (Virtual I/O
// Device specification 1.2), written from the specification for host
// tests of tamanet's drivers: a generic Device (status, 64-bit feature
// negotiation, queues, interrupt status, configuration with its
// generation) and register layers that present it as the modern PCI
// transport (4.1.4: common, notify, ISR and device structures in a memory
// BAR), the legacy PCI register block (4.1.4.8) and virtio-mmio versions 1
// and 2 (4.2). A device type (the entropy source in virtio/rng/model, the
// network card in virtio/virtionet/model) is a Backend that plugs in.
//
// Everything the driver does wrong is counted in Stats and, where the
// specification says so, refused; never a panic. A Device is safe for
// concurrent use.
package model

import (
	"sync"

	"tamanet/virtio"
)

// Memory is the device's view of the host's memory: the bytes at a bus
// address, or false if any of them is not there. The shared test arena
// satisfies it.
type Memory interface {
	Bytes(addr uint64, n int) ([]byte, bool)
}

// Backend is one device type behind the generic part.
type Backend interface {
	// Reset returns the type's own state to what it is after reset. It
	// is called with the Device's lock held: it must not call Device
	// methods.
	Reset()
	// Notify is the driver's notification of queue q (only once the
	// driver set DRIVER_OK and the queue is set up), with no lock held.
	Notify(q uint16)
}

// Spec is what a device type tells the generic part.
type Spec struct {
	DeviceID uint32
	// Features are the type's feature bits; the modern layers add
	// VIRTIO_F_VERSION_1 unless NoVersion1, the legacy ones offer bits
	// 0-31 only.
	Features   uint64
	NoVersion1 bool
	// Require is bits the device refuses FEATURES_OK without (as a device
	// needing VIRTIO_F_ACCESS_PLATFORM does).
	Require uint64
	// QueueMax is each queue's largest size; len is the number of queues.
	QueueMax []uint16
	// Config is the initial device-specific configuration.
	Config []byte
	// Memory is what the device reads and writes by DMA.
	Memory Memory
	// IRQ, if set, is called for each interrupt the device raises, with
	// no lock held (the ISR bits say why).
	IRQ func()
}

// Queue is one virtqueue as the driver set it up.
type Queue struct {
	Size              uint16
	Desc, Avail, Used uint64
	Ready             bool
	Vector            uint16
}

// Stats counts what the generic part saw.
type Stats struct {
	Resets, Notifies   uint64
	Interrupts         uint64
	NotifyBeforeReady  uint64 // a notification before DRIVER_OK or for a queue not set up
	BadQueue           uint64 // setup or notify of a queue that does not exist, or a bad size
	FeaturesRefused    uint64 // FEATURES_OK writes the device did not keep
	StatusTransitions  []uint8
	FeaturesAcked      uint64 // what the driver wrote last
	UnknownRegAccesses uint64
}

// Device is the transport-independent state of one virtio device.
type Device struct {
	mu   sync.Mutex
	spec Spec
	be   Backend

	status       uint8
	driverFeat   uint64
	queues       []Queue
	isr          uint8
	gen          uint32
	config       []byte
	configVector uint16
	sel          uint16 // the queue select register of whichever layer
	st           Stats
}

// New returns a device fresh from reset.
func New(spec Spec, be Backend) *Device {
	d := &Device{spec: spec, be: be, queues: make([]Queue, len(spec.QueueMax))}
	d.config = append([]byte(nil), spec.Config...)
	d.resetLocked()
	d.st.Resets = 0
	return d
}

// Stats returns a copy of the counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.st
	s.StatusTransitions = append([]uint8(nil), s.StatusTransitions...)
	return s
}

// Status is the device status as the driver last set it, with the
// device's own bits.
func (d *Device) Status() uint8 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// Negotiated is the feature bits the driver accepted.
func (d *Device) Negotiated() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.driverFeat
}

// Queue returns queue q's setup.
func (d *Device) Queue(q uint16) (Queue, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if int(q) >= len(d.queues) {
		return Queue{}, false
	}
	return d.queues[q], true
}

// SetNeedsReset makes the device report DEVICE_NEEDS_RESET, as after an
// internal error (2.1.2), and raise a configuration change interrupt.
func (d *Device) SetNeedsReset() {
	d.mu.Lock()
	d.status |= virtio.STATUS_DEVICE_NEEDS_RESET
	d.mu.Unlock()
	d.Raise(virtio.ISRConfig)
}

// SetConfig changes device configuration at off, as the device does on
// its own (a link change): the generation moves on and a configuration
// change interrupt follows (2.5.1).
func (d *Device) SetConfig(off int, p []byte) {
	d.mu.Lock()
	copy(d.config[off:], p)
	d.gen++
	d.mu.Unlock()
	d.Raise(virtio.ISRConfig)
}

// Raise sets ISR bits and interrupts the driver.
func (d *Device) Raise(isr uint8) {
	d.mu.Lock()
	d.isr |= isr
	d.st.Interrupts++
	d.mu.Unlock()
	if d.spec.IRQ != nil {
		d.spec.IRQ()
	}
}

// UseRings runs fn with queue q's three rings in memory, under the
// device's lock (so a reset waits for it), if the driver has made the
// device live (DRIVER_OK, no DEVICE_NEEDS_RESET) and set the queue up.
// fn returns whether to interrupt the driver; it may call NeedsReset.
// UseRings reports false if the rings are not there.
func (d *Device) UseRings(q uint16, fn func(r Rings) (interrupt bool)) bool {
	d.mu.Lock()
	r, ok := d.rings(q)
	if !ok {
		d.mu.Unlock()
		return false
	}
	irq := fn(r)
	d.mu.Unlock()
	if irq {
		d.Raise(virtio.ISRQueue)
	}
	return true
}

// Rings is one queue's memory, for a backend inside UseRings.
type Rings struct {
	Size              uint16
	Desc, Avail, Used []byte
	// Memory reaches the buffers the descriptors name.
	Memory Memory
	d      *Device
}

// NeedsReset sets DEVICE_NEEDS_RESET from inside UseRings, for a
// malformed request the device treats as fatal.
func (r Rings) NeedsReset() { r.d.status |= virtio.STATUS_DEVICE_NEEDS_RESET }

func (d *Device) rings(q uint16) (Rings, bool) {
	if int(q) >= len(d.queues) || d.status&virtio.STATUS_DRIVER_OK == 0 ||
		d.status&virtio.STATUS_DEVICE_NEEDS_RESET != 0 || !d.queues[q].Ready {
		return Rings{}, false
	}
	qs := d.queues[q]
	n := int(qs.Size)
	desc, ok1 := d.spec.Memory.Bytes(qs.Desc, virtio.DescSize*n)
	avail, ok2 := d.spec.Memory.Bytes(qs.Avail, 4+2*n+2)
	used, ok3 := d.spec.Memory.Bytes(qs.Used, 4+8*n+2)
	if !ok1 || !ok2 || !ok3 {
		return Rings{}, false
	}
	return Rings{Size: qs.Size, Desc: desc, Avail: avail, Used: used, Memory: d.spec.Memory, d: d}, true
}

// The register layers' view, all called with d.mu held.

// resetLocked returns the device to its initial state (2.4).
func (d *Device) resetLocked() {
	d.status, d.driverFeat, d.isr, d.sel = 0, 0, 0, 0
	d.configVector = virtio.NoVector
	for i := range d.queues {
		d.queues[i] = Queue{Vector: virtio.NoVector}
	}
	d.st.Resets++
	d.be.Reset()
}

// offered is the feature bits a layer presents.
func (d *Device) offered(modern bool) uint64 {
	if !modern {
		return d.spec.Features & 0xFFFFFFFF
	}
	if d.spec.NoVersion1 {
		return d.spec.Features
	}
	return d.spec.Features | virtio.Bit(virtio.VIRTIO_F_VERSION_1)
}

// setStatus is a status write: 0 resets; FEATURES_OK (modern layers
// only) sticks only if the driver took a subset of the offer that
// includes what the device requires (3.1.1 step 6).
func (d *Device) setStatus(v uint8, modern bool) {
	if v == 0 {
		d.resetLocked()
		return
	}
	d.st.StatusTransitions = append(d.st.StatusTransitions, v)
	if modern && v&virtio.STATUS_FEATURES_OK != 0 && d.status&virtio.STATUS_FEATURES_OK == 0 {
		offer := d.offered(true)
		if d.driverFeat&^offer != 0 || d.driverFeat&d.spec.Require != d.spec.Require {
			d.st.FeaturesRefused++
			v &^= virtio.STATUS_FEATURES_OK
		}
	}
	d.status = v | d.status&virtio.STATUS_DEVICE_NEEDS_RESET
}

// setDriverFeatureWord writes the 32 feature bits a select register
// names (0: bits 0-31, 1: bits 32-63; others hold nothing).
func (d *Device) setDriverFeatureWord(sel, v uint32) {
	switch sel {
	case 0:
		d.setDriverFeatures(d.driverFeat&^0xFFFFFFFF | uint64(v))
	case 1:
		d.setDriverFeatures(d.driverFeat&0xFFFFFFFF | uint64(v)<<32)
	}
}

func (d *Device) setDriverFeatures(f uint64) {
	d.driverFeat = f
	d.st.FeaturesAcked = f
}

// readISR returns and clears the interrupt status (4.1.4.5).
func (d *Device) readISR() uint8 {
	v := d.isr
	d.isr = 0
	return v
}

// queue returns queue q for setup, or nil (counted) if there is none.
func (d *Device) queue(q uint16) *Queue {
	if int(q) >= len(d.queues) {
		d.st.BadQueue++
		return nil
	}
	return &d.queues[q]
}

// queueNoCount is queue for reads, which count nothing.
func (d *Device) queueNoCount(q uint16) *Queue {
	if int(q) >= len(d.queues) {
		return nil
	}
	return &d.queues[q]
}

func (d *Device) queueMax(q uint16) uint16 {
	if int(q) >= len(d.queues) {
		return 0
	}
	return d.spec.QueueMax[q]
}

// notify counts a notification and passes it on if the queue is live.
// Called with d.mu held; it releases it.
func (d *Device) notifyUnlock(q uint16) {
	d.st.Notifies++
	switch {
	case int(q) >= len(d.queues):
		d.st.BadQueue++
		d.mu.Unlock()
		return
	case d.status&virtio.STATUS_DRIVER_OK == 0 || !d.queues[q].Ready:
		d.st.NotifyBeforeReady++
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	d.be.Notify(q)
}

// readConfig copies device configuration at off into p; bytes beyond it
// read as 0xFF, as from absent registers.
func (d *Device) readConfig(off int, p []byte) {
	for i := range p {
		p[i] = 0xFF
		if o := off + i; o >= 0 && o < len(d.config) {
			p[i] = d.config[o]
		}
	}
}

func (d *Device) writeConfig(off int, p []byte) {
	for i := range p {
		if o := off + i; o >= 0 && o < len(d.config) {
			d.config[o] = p[i]
		} else {
			d.st.UnknownRegAccesses++
		}
	}
}

// legacyQueue sets queue q up at the legacy layout of base (0 disables
// it), at size entries.
func (d *Device) legacyQueue(q uint16, base uint64, size uint16) {
	qs := d.queue(q)
	if qs == nil {
		return
	}
	if base == 0 {
		*qs = Queue{Vector: qs.Vector}
		return
	}
	r := virtio.LegacyRing(base, size)
	*qs = Queue{Size: size, Desc: r.Desc, Avail: r.Avail, Used: r.Used, Ready: true, Vector: qs.Vector}
}
