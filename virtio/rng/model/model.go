// Package model is a software virtio entropy device (Virtual I/O Device
// specification 1.2, 5.4), written from the specification for host tests
// of the virtio-rng driver. It is a virtio/model Backend: the generic
// device part and its register layers (modern PCI, legacy PCI,
// virtio-mmio) put it on any transport.
//
// Requests are served inside the driver's notification, or, with
// Config.Deferred, only when the test calls Serve, or, with Config.Async,
// on a goroutine of the model's. A malformed request is counted and sets
// DEVICE_NEEDS_RESET; never a panic.
package model

import (
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
	"unsafe"

	"tamanet/virtio"
	vmodel "tamanet/virtio/model"
)

// Split virtqueue fields the device reads and writes (2.7).
const (
	descSize          = 16
	descFNext         = 1
	descFWrite        = 2
	descFIndirect     = 4
	availFNoInterrupt = 1
)

// Config parametrises an RNG.
type Config struct {
	// Memory is what the device reads and writes by DMA.
	Memory vmodel.Memory
	// Source is the entropy; nil means bytes 0, 1, 2, ... (mod 256) in
	// order, so tests can check what arrived where.
	Source io.Reader
	// QueueSize is the request queue's size (QEMU: 8); zero means 8.
	QueueSize uint16
	// MaxPerRequest caps the bytes written per request, as a device with
	// little entropy at hand would; zero means the whole buffer.
	MaxPerRequest int
	// Deferred holds requests until Serve; Async serves them on a
	// goroutine. Otherwise the notification serves them.
	Deferred, Async bool
	// IRQ, if set, is called for each interrupt the device raises.
	IRQ func()
	// Spec adjusts the generic part (features offered, required...).
	Spec func(*vmodel.Spec)
}

// Stats counts what the entropy device did.
type Stats struct {
	Requests, Bytes uint64
	BadDescriptor   uint64 // out of range, device-readable, indirect, or a loop
	BadAddress      uint64 // buffer or ring outside Memory
}

// RNG is one virtio-rng device.
type RNG struct {
	dev *vmodel.Device
	cfg Config

	// Under dev's lock (UseRings, Reset):
	seq      byte // the default source's next byte
	lastSeen uint16
	usedIdx  uint16

	smu sync.Mutex
	st  Stats

	kick chan struct{} // Async: wakes the server goroutine
}

// New returns a device fresh from reset.
func New(cfg Config) *RNG {
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 8
	}
	r := &RNG{cfg: cfg}
	spec := vmodel.Spec{DeviceID: virtio.DeviceEntropy, QueueMax: []uint16{cfg.QueueSize}, Memory: cfg.Memory, IRQ: cfg.IRQ}
	if cfg.Spec != nil {
		cfg.Spec(&spec)
	}
	r.dev = vmodel.New(spec, r)
	if cfg.Async {
		r.kick = make(chan struct{}, 1)
		go func() {
			for range r.kick {
				r.Serve()
			}
		}()
	}
	return r
}

// Device is the generic part, whose layers give the register windows.
func (r *RNG) Device() *vmodel.Device { return r.dev }

// Stats returns a copy of the counters.
func (r *RNG) Stats() Stats {
	r.smu.Lock()
	defer r.smu.Unlock()
	return r.st
}

// Reset is the backend's part of a device reset.
func (r *RNG) Reset() { r.lastSeen, r.usedIdx = 0, 0 }

// Notify serves the request queue, now or later as configured.
func (r *RNG) Notify(q uint16) {
	switch {
	case r.cfg.Deferred:
	case r.cfg.Async:
		select {
		case r.kick <- struct{}{}:
		default:
		}
	default:
		r.Serve()
	}
}

// Serve serves every request the driver has made available.
func (r *RNG) Serve() {
	ok := r.dev.UseRings(0, r.serve)
	if !ok && r.dev.Status()&virtio.STATUS_DRIVER_OK != 0 {
		r.count(func(s *Stats) { s.BadAddress++ })
	}
}

func (r *RNG) count(f func(*Stats)) {
	r.smu.Lock()
	f(&r.st)
	r.smu.Unlock()
}

// serve takes every available request, fills its device-writable buffers
// with entropy and returns it in the used ring.
func (r *RNG) serve(q vmodel.Rings) (interrupt bool) {
	n := q.Size
	w := atomic.LoadUint32(word(q.Avail, 0)) // flags, idx: the driver's barrier
	availIdx, noIRQ := uint16(w>>16), w&availFNoInterrupt != 0
	served := false
	for ; r.lastSeen != availIdx; r.lastSeen++ {
		head := binary.LittleEndian.Uint16(q.Avail[4+2*int(r.lastSeen%n):])
		written := r.fill(q, head)
		e := q.Used[4+8*int(r.usedIdx%n):][:8]
		binary.LittleEndian.PutUint32(e[0:], uint32(head))
		binary.LittleEndian.PutUint32(e[4:], written)
		r.usedIdx++
		// Flags 0, then the index, in one store after the element.
		atomic.StoreUint32(word(q.Used, 0), uint32(r.usedIdx)<<16)
		r.count(func(s *Stats) { s.Requests++ })
		served = true
	}
	return served && !noIRQ
}

// fill writes entropy into the chain starting at head and returns the
// bytes written. A malformed chain gets nothing more written and sets
// DEVICE_NEEDS_RESET (2.7.5.1 lets a device treat it as fatal).
func (r *RNG) fill(q vmodel.Rings, head uint16) uint32 {
	n := q.Size
	var total uint32
	limit := r.cfg.MaxPerRequest
	for at, hops := head, uint16(0); ; hops++ {
		if at >= n || hops >= n {
			r.count(func(s *Stats) { s.BadDescriptor++ })
			q.NeedsReset()
			return total
		}
		d := q.Desc[int(at)*descSize:][:descSize]
		addr := binary.LittleEndian.Uint64(d[0:])
		length := binary.LittleEndian.Uint32(d[8:])
		flags := binary.LittleEndian.Uint16(d[12:])
		if flags&descFWrite == 0 || flags&descFIndirect != 0 {
			// The entropy device only writes (5.4.6.1).
			r.count(func(s *Stats) { s.BadDescriptor++ })
			q.NeedsReset()
			return total
		}
		buf, ok := q.Memory.Bytes(addr, int(length))
		if !ok {
			r.count(func(s *Stats) { s.BadAddress++ })
			q.NeedsReset()
			return total
		}
		if limit > 0 {
			buf = buf[:min(len(buf), limit-int(total))]
		}
		r.entropy(buf)
		total += uint32(len(buf))
		r.count(func(s *Stats) { s.Bytes += uint64(len(buf)) })
		if flags&descFNext == 0 || (limit > 0 && int(total) >= limit) {
			return total
		}
		at = binary.LittleEndian.Uint16(d[14:])
	}
}

// entropy fills b from the source.
func (r *RNG) entropy(b []byte) {
	if r.cfg.Source != nil {
		io.ReadFull(r.cfg.Source, b)
		return
	}
	for i := range b {
		b[i] = r.seq
		r.seq++
	}
}

func word(b []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
