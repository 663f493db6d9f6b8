// Package model is a software virtio entropy device (Virtual I/O Device
// specification 1.2, 5.4) behind the legacy PCI register block (4.1.4.8),
// with split virtqueues laid out for legacy devices (2.7.2), written from
// the specification for host tests of tamanet's virtio drivers.
//
// The driver reaches it through the register methods (In8 ... Out32, the
// virtio.Ports interface) and reads and writes memory the model finds
// through Memory, by bus address. Requests are served inside the
// QUEUE_NOTIFY write, or, with Config.Deferred, only when the test calls
// Serve, or, with Config.Async, on a goroutine of the model's. Everything
// the driver hands the device is checked; what is wrong is counted in
// Stats and, where the specification says so, sets DEVICE_NEEDS_RESET.
// Never a panic. A Model is safe for concurrent use.
package model

import (
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Legacy register block (4.1.4.8), as the driver package names it.
const (
	DEVICE_FEATURES = 0x00
	DRIVER_FEATURES = 0x04
	QUEUE_ADDRESS   = 0x08
	QUEUE_SIZE      = 0x0C
	QUEUE_SELECT    = 0x0E
	QUEUE_NOTIFY    = 0x10
	DEVICE_STATUS   = 0x12
	ISR_STATUS      = 0x13

	// BAR0Size is the legacy I/O window of a device without
	// device-specific configuration and without MSI-X.
	BAR0Size = 0x14
)

// Status bits (2.1) and ISR bits (4.1.4.5).
const (
	STATUS_ACKNOWLEDGE        = 1
	STATUS_DRIVER             = 2
	STATUS_DRIVER_OK          = 4
	STATUS_DEVICE_NEEDS_RESET = 64
	STATUS_FAILED             = 128

	ISR_QUEUE = 1 // a used buffer was added
)

// Virtqueue layout (2.7).
const (
	queueAlign     = 4096
	queueAddrShift = 12
	descSize       = 16

	descFNext     = 1
	descFWrite    = 2
	descFIndirect = 4

	availFNoInterrupt = 1
)

// Memory is the device's view of the host's memory: the bytes at a bus
// address, or false if any of them is not there. The shared test arena
// satisfies it.
type Memory interface {
	Bytes(addr uint64, n int) ([]byte, bool)
}

// Config parametrises a Model.
type Config struct {
	// Memory is what the device reads and writes by DMA.
	Memory Memory
	// Source is the entropy; nil means bytes 0, 1, 2, ... (mod 256) in
	// order, so tests can check what arrived where.
	Source io.Reader
	// QueueSize is the request queue's size (QEMU: 8); zero means 8.
	QueueSize uint16
	// MaxPerRequest caps the bytes written per request, as a device with
	// little entropy at hand would; zero means the whole buffer.
	MaxPerRequest int
	// Deferred holds requests until Serve; Async serves them on a
	// goroutine. Otherwise the QUEUE_NOTIFY write serves them.
	Deferred, Async bool
	// IRQ, if set, is called for each interrupt the device raises (a used
	// buffer, unless the driver set VIRTQ_AVAIL_F_NO_INTERRUPT), with no
	// model lock held.
	IRQ func()
}

// Stats counts what the model saw.
type Stats struct {
	Resets, Notifies   uint64
	Requests, Bytes    uint64
	Interrupts         uint64
	NotifyBeforeReady  uint64 // QUEUE_NOTIFY before DRIVER_OK
	BadQueue           uint64 // queue address or notify for a queue that does not exist
	BadDescriptor      uint64 // out of range, device-readable, indirect, or a loop
	BadAddress         uint64 // buffer or ring outside Memory
	StatusTransitions  []uint8
	FeaturesAcked      uint32
	UnknownRegAccesses uint64
}

// Model is one virtio-rng device.
type Model struct {
	mu  sync.Mutex
	cfg Config
	seq byte // the default source's next byte

	status   uint8
	features uint32
	sel      uint16
	pfn      uint32 // queue 0's page frame number; 0 = no queue
	isr      uint8
	lastSeen uint16 // avail idx up to which requests were taken
	usedIdx  uint16
	st       Stats

	kick chan struct{} // Async: wakes the server goroutine
}

// New returns a device fresh from reset.
func New(cfg Config) *Model {
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 8
	}
	m := &Model{cfg: cfg}
	if cfg.Async {
		m.kick = make(chan struct{}, 1)
		go m.serveLoop()
	}
	return m
}

// Stats returns a copy of the counters.
func (m *Model) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.st
	s.StatusTransitions = append([]uint8(nil), s.StatusTransitions...)
	return s
}

// SetNeedsReset makes the device report DEVICE_NEEDS_RESET, as after an
// internal error (2.1.2).
func (m *Model) SetNeedsReset() {
	m.mu.Lock()
	m.status |= STATUS_DEVICE_NEEDS_RESET
	m.mu.Unlock()
}

// In8 reads an 8-bit register.
func (m *Model) In8(off uint16) uint8 {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch off {
	case DEVICE_STATUS:
		return m.status
	case ISR_STATUS:
		v := m.isr
		m.isr = 0 // reading acknowledges (4.1.4.5)
		return v
	}
	m.st.UnknownRegAccesses++
	return 0xFF
}

// In16 reads a 16-bit register.
func (m *Model) In16(off uint16) uint16 {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch off {
	case QUEUE_SIZE:
		if m.sel == 0 {
			return m.cfg.QueueSize
		}
		return 0 // no such queue
	case QUEUE_SELECT:
		return m.sel
	}
	m.st.UnknownRegAccesses++
	return 0xFFFF
}

// In32 reads a 32-bit register.
func (m *Model) In32(off uint16) uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch off {
	case DEVICE_FEATURES:
		return 0 // virtio-rng defines no feature bits (5.4.3)
	case DRIVER_FEATURES:
		return m.features
	case QUEUE_ADDRESS:
		if m.sel == 0 {
			return m.pfn
		}
		return 0
	}
	m.st.UnknownRegAccesses++
	return 0xFFFFFFFF
}

// Out8 writes an 8-bit register.
func (m *Model) Out8(off uint16, v uint8) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off != DEVICE_STATUS {
		m.st.UnknownRegAccesses++
		return
	}
	if v == 0 {
		m.reset()
		return
	}
	m.status = v | m.status&STATUS_DEVICE_NEEDS_RESET
	m.st.StatusTransitions = append(m.st.StatusTransitions, v)
}

// Out16 writes a 16-bit register.
func (m *Model) Out16(off uint16, v uint16) {
	switch off {
	case QUEUE_SELECT:
		m.mu.Lock()
		m.sel = v
		m.mu.Unlock()
	case QUEUE_NOTIFY:
		m.notify(v)
	default:
		m.mu.Lock()
		m.st.UnknownRegAccesses++
		m.mu.Unlock()
	}
}

// Out32 writes a 32-bit register.
func (m *Model) Out32(off uint16, v uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch off {
	case DRIVER_FEATURES:
		m.features = v
		m.st.FeaturesAcked = v
	case QUEUE_ADDRESS:
		if m.sel != 0 {
			m.st.BadQueue++
			return
		}
		m.pfn = v
		m.lastSeen, m.usedIdx = 0, 0
	default:
		m.st.UnknownRegAccesses++
	}
}

// reset returns the device to its initial state (2.4): status, features,
// queues.
func (m *Model) reset() {
	m.status, m.features, m.sel, m.pfn, m.isr = 0, 0, 0, 0, 0
	m.lastSeen, m.usedIdx = 0, 0
	m.st.Resets++
}

func (m *Model) notify(queue uint16) {
	m.mu.Lock()
	m.st.Notifies++
	switch {
	case queue != 0:
		m.st.BadQueue++
		m.mu.Unlock()
		return
	case m.status&STATUS_DRIVER_OK == 0:
		m.st.NotifyBeforeReady++
		m.mu.Unlock()
		return
	case m.cfg.Deferred:
		m.mu.Unlock()
		return
	case m.cfg.Async:
		m.mu.Unlock()
		select {
		case m.kick <- struct{}{}:
		default:
		}
		return
	}
	irqs := m.serve()
	m.mu.Unlock()
	m.raise(irqs)
}

// Serve serves every request the driver has made available, for
// Config.Deferred.
func (m *Model) Serve() {
	m.mu.Lock()
	irqs := m.serve()
	m.mu.Unlock()
	m.raise(irqs)
}

func (m *Model) serveLoop() {
	for range m.kick {
		m.Serve()
	}
}

func (m *Model) raise(n int) {
	if m.cfg.IRQ != nil {
		for range n {
			m.cfg.IRQ()
		}
	}
}

// rings returns the queue's descriptor table, available and used rings.
func (m *Model) rings() (desc, avail, used []byte, ok bool) {
	n := int(m.cfg.QueueSize)
	usedOff := alignUp(descSize*n+4+2*n+2, queueAlign)
	total := usedOff + alignUp(4+8*n+2, queueAlign)
	mem, ok := m.cfg.Memory.Bytes(uint64(m.pfn)<<queueAddrShift, total)
	if m.pfn == 0 || !ok {
		return nil, nil, nil, false
	}
	return mem[:descSize*n], mem[descSize*n : usedOff], mem[usedOff:], true
}

func alignUp(v, a int) int { return (v + a - 1) &^ (a - 1) }

// serve takes every available request, fills its device-writable buffers
// with entropy and returns it in the used ring. It returns the interrupts
// to raise. Called with m.mu held.
func (m *Model) serve() int {
	if m.status&STATUS_DRIVER_OK == 0 || m.status&STATUS_DEVICE_NEEDS_RESET != 0 {
		return 0
	}
	desc, avail, used, ok := m.rings()
	if !ok {
		m.st.BadAddress++
		return 0
	}
	n := m.cfg.QueueSize
	w := atomic.LoadUint32(word(avail, 0)) // flags, idx: the driver's barrier
	availIdx, noIRQ := uint16(w>>16), w&availFNoInterrupt != 0
	irqs := 0
	for ; m.lastSeen != availIdx; m.lastSeen++ {
		head := binary.LittleEndian.Uint16(avail[4+2*int(m.lastSeen%n):])
		written := m.fill(desc, head)
		e := used[4+8*int(m.usedIdx%n):][:8]
		binary.LittleEndian.PutUint32(e[0:], uint32(head))
		binary.LittleEndian.PutUint32(e[4:], written)
		m.usedIdx++
		// Flags 0, then the index, in one store after the element.
		atomic.StoreUint32(word(used, 0), uint32(m.usedIdx)<<16)
		m.st.Requests++
		m.isr |= ISR_QUEUE
		if !noIRQ {
			irqs++
			m.st.Interrupts++
		}
	}
	return irqs
}

// fill writes entropy into the chain starting at head and returns the
// bytes written. A malformed chain gets nothing written and sets
// DEVICE_NEEDS_RESET (2.7.5.1 lets a device treat it as fatal).
func (m *Model) fill(desc []byte, head uint16) uint32 {
	n := m.cfg.QueueSize
	var total uint32
	limit := m.cfg.MaxPerRequest
	for at, hops := head, uint16(0); ; hops++ {
		if at >= n || hops >= n {
			m.st.BadDescriptor++
			m.status |= STATUS_DEVICE_NEEDS_RESET
			return total
		}
		d := desc[int(at)*descSize:][:descSize]
		addr := binary.LittleEndian.Uint64(d[0:])
		length := binary.LittleEndian.Uint32(d[8:])
		flags := binary.LittleEndian.Uint16(d[12:])
		if flags&descFWrite == 0 || flags&descFIndirect != 0 {
			// The entropy device only writes (5.4.6.1).
			m.st.BadDescriptor++
			m.status |= STATUS_DEVICE_NEEDS_RESET
			return total
		}
		buf, ok := m.cfg.Memory.Bytes(addr, int(length))
		if !ok {
			m.st.BadAddress++
			m.status |= STATUS_DEVICE_NEEDS_RESET
			return total
		}
		if limit > 0 {
			buf = buf[:min(len(buf), limit-int(total))]
		}
		m.entropy(buf)
		total += uint32(len(buf))
		m.st.Bytes += uint64(len(buf))
		if flags&descFNext == 0 || (limit > 0 && int(total) >= limit) {
			return total
		}
		at = binary.LittleEndian.Uint16(d[14:])
	}
}

// entropy fills b from the source.
func (m *Model) entropy(b []byte) {
	if m.cfg.Source != nil {
		io.ReadFull(m.cfg.Source, b)
		return
	}
	for i := range b {
		b[i] = m.seq
		m.seq++
	}
}

func word(b []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
