// Package model is a software virtio network device (Virtual I/O Device
// specification 1.2, 5.1), written from the specification for host tests
// of tamanet's virtio-net driver. It is a device type behind package
// virtio/model's generic part, so the driver meets it through any of that
// package's register layers (modern and legacy PCI, virtio-mmio v1 and
// v2) and the real transports over them. It reads and writes the split
// virtqueues in memory it finds by bus address, and honours feature
// negotiation: the header length (VERSION_1, MRG_RXBUF), partial
// checksums and GSO both ways (completing or segmenting in software what
// the driver did not take), mergeable receive buffers, EVENT_IDX both
// ways, link status and configuration interrupts, DEVICE_NEEDS_RESET.
// Everything the driver hands the device is checked and what is wrong is
// counted in Stats. Never a panic. A Model is safe for concurrent use; it
// never calls out (interrupts, transmitted frames) with a lock held.
package model

import (
	"sync"
	"sync/atomic"

	"tamanet/virtio"
	vmodel "tamanet/virtio/model"
)

// Feature bits (5.1.3, 6), as the device offers them.
const (
	F_CSUM           = 1 << 0
	F_GUEST_CSUM     = 1 << 1
	F_MTU            = 1 << 3
	F_MAC            = 1 << 5
	F_GUEST_TSO4     = 1 << 7
	F_GUEST_TSO6     = 1 << 8
	F_HOST_TSO4      = 1 << 11
	F_HOST_TSO6      = 1 << 12
	F_MRG_RXBUF      = 1 << 15
	F_STATUS         = 1 << 16
	F_ANY_LAYOUT     = 1 << 27
	F_RING_EVENT_IDX = 1 << 29
	F_VERSION_1      = 1 << 32

	// AllFeatures is what QEMU's virtio-net with a vnet_hdr backend
	// offers, among the bits the model implements.
	AllFeatures = F_CSUM | F_GUEST_CSUM | F_MAC | F_GUEST_TSO4 | F_GUEST_TSO6 | F_HOST_TSO4 | F_HOST_TSO6 |
		F_MRG_RXBUF | F_STATUS | F_ANY_LAYOUT | F_RING_EVENT_IDX | F_VERSION_1
)

// Memory is the device's view of the host's memory.
type Memory = vmodel.Memory

// Config parametrises a Model.
type Config struct {
	// Memory is what the device reads and writes by DMA.
	Memory Memory
	// Features are the bits offered; zero means AllFeatures, unless
	// NoFeatures. F_MTU is added when MTU is set. VERSION_1 is the
	// modern layers' to add; the legacy ones offer bits 0-31 only.
	Features   uint64
	NoFeatures bool
	// QueueMax is each queue's largest size; zero means 256.
	QueueMax uint16
	// MAC is the address in the configuration.
	MAC [6]byte
	// MTU, if nonzero, is offered in the configuration (F_MTU).
	MTU uint16
	// LinkDown starts the device with its link down.
	LinkDown bool
	// IRQ is called for each interrupt on the device's line (ISR set);
	// MSIX for each on an MSI-X vector the driver assigned. Both run
	// without a lock held.
	IRQ  func()
	MSIX func(vector uint16)
	// Transmit receives each frame the driver sends, as the driver sent
	// it: the header's offload requests still to do (a peer's Receive
	// takes it so, as QEMU hands a tap its vnet header; WireFrames does
	// them). The frame is the model's copy.
	Transmit func(frame []byte, h Header)
}

// Stats counts what the model did and what the driver got wrong.
type Stats struct {
	TxFrames, TxBytes       uint64
	TxGSO, TxCsum           uint64
	RxFrames, RxBytes       uint64
	RxMerged                uint64 // frames spread over several buffers
	RxNoBuffers             uint64 // frames dropped: no buffer posted (ring overflow)
	RxTooBig                uint64 // frames dropped: bigger than the buffers posted
	RxLinkDown, RxNotReady  uint64 // frames dropped: link down, or the driver not ready
	RxSegmented, RxCsumDone uint64 // GSO and partial frames finished in software for the driver
	Interrupts              uint64 // used buffer notifications sent

	BadDescriptor uint64 // index out of range, loop, indirect, wrong direction
	BadAddress    uint64 // a buffer outside memory
	BadAvailIdx   uint64 // more chains made available than the queue holds
	BadTxHeader   uint64 // an offload not negotiated or outside the frame, num_buffers set
	BadTxFrame    uint64 // shorter than an Ethernet header, or over the MTU without GSO
	InjectedUsed  uint64
	InjectedRaw   uint64
}

// Model is one virtio-net device: the backend of a generic virtio device.
type Model struct {
	dev *vmodel.Device
	cfg Config

	// Under dev's lock (UseRings, Reset):
	q     [2]queue
	chain []desc // scratch for walking chains

	mu     sync.Mutex // guards st and linkUp
	st     Stats
	linkUp bool

	transmit atomic.Pointer[func([]byte, Header)]
}

// Queue numbers (5.1.2).
const (
	rxQ = 0
	txQ = 1
)

// Configuration layout (5.1.4).
const (
	cfgMAC     = 0
	cfgStatus  = 6
	cfgPairs   = 8
	cfgMTU     = 10
	configSize = 12

	sLinkUp = 1
)

// New returns a device fresh from reset.
func New(cfg Config) *Model {
	if cfg.Features == 0 && !cfg.NoFeatures {
		cfg.Features = AllFeatures
	}
	if cfg.MTU != 0 {
		cfg.Features |= F_MTU
	}
	if cfg.QueueMax == 0 {
		cfg.QueueMax = 256
	}
	m := &Model{cfg: cfg, linkUp: !cfg.LinkDown}
	c := make([]byte, configSize)
	copy(c[cfgMAC:], cfg.MAC[:])
	if m.linkUp {
		c[cfgStatus] = sLinkUp
	}
	c[cfgPairs] = 1
	c[cfgMTU], c[cfgMTU+1] = byte(cfg.MTU), byte(cfg.MTU>>8)
	m.dev = vmodel.New(vmodel.Spec{
		DeviceID:   virtio.DeviceNet,
		Features:   cfg.Features,
		NoVersion1: cfg.Features&F_VERSION_1 == 0,
		QueueMax:   []uint16{cfg.QueueMax, cfg.QueueMax},
		Config:     c,
		Memory:     cfg.Memory,
		IRQ:        cfg.IRQ,
		MSIX:       cfg.MSIX,
	}, m)
	if cfg.Transmit != nil {
		m.SetTransmit(cfg.Transmit)
	}
	return m
}

// Device is the generic part, whose register layers give the driver its
// transport (Transport).
func (m *Model) Device() *vmodel.Device { return m.dev }

// Transport is the driver's transport of kind (vmodel.Kinds) over the
// device.
func (m *Model) Transport(kind string) (virtio.Transport, error) { return m.dev.Transport(kind) }

// SetTransmit replaces Config.Transmit, for wiring two devices together.
func (m *Model) SetTransmit(f func(frame []byte, h Header)) { m.transmit.Store(&f) }

// Stats returns a copy of the counters.
func (m *Model) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// count updates the counters.
func (m *Model) count(f func(*Stats)) {
	m.mu.Lock()
	f(&m.st)
	m.mu.Unlock()
}

// Reset is the backend's part of a device reset: the queues start over.
func (m *Model) Reset() { m.q = [2]queue{} }

// DriverFeatures returns the features the driver accepted.
func (m *Model) DriverFeatures() uint64 { return m.dev.Negotiated() }

// Status is the device status.
func (m *Model) Status() uint8 { return m.dev.Status() }

// SetLink takes the link up or down: the configuration's status changes
// and a configuration change interrupt follows.
func (m *Model) SetLink(up bool) {
	m.mu.Lock()
	changed := m.linkUp != up
	m.linkUp = up
	m.mu.Unlock()
	if changed {
		var b [2]byte
		if up {
			b[0] = sLinkUp
		}
		m.dev.SetConfig(cfgStatus, b[:])
	}
}

// SetNeedsReset makes the device ask for a reset (2.1.2) and tells the
// driver with a configuration change interrupt.
func (m *Model) SetNeedsReset() { m.dev.SetNeedsReset() }

// Notify is the driver's notification: the transmit queue is served at
// once; a receive notification only says buffers were posted.
func (m *Model) Notify(q uint16) {
	if q != txQ {
		return
	}
	f := m.dev.Negotiated()
	var out []txFrame
	m.dev.UseRings(txQ, func(r vmodel.Rings) bool {
		var irq bool
		out, irq = m.serveTx(r, f)
		return irq
	})
	if tx := m.transmit.Load(); tx != nil {
		for _, fr := range out {
			(*tx)(fr.frame, fr.hdr)
		}
	}
}

// hdrLen is the header length the negotiated features f call for
// (5.1.6): 12 with VERSION_1 or MRG_RXBUF, else 10.
func hdrLen(f uint64) int {
	if f&(F_VERSION_1|F_MRG_RXBUF) != 0 {
		return 12
	}
	return 10
}

// wantsInterrupt decides for queue q after the device used entries.
func (m *Model) wantsInterrupt(q int, f uint64) bool {
	if !m.q[q].wantsInterrupt(f&F_RING_EVENT_IDX != 0) {
		return false
	}
	m.count(func(s *Stats) { s.Interrupts++ })
	return true
}
