// Package model is a software virtio network device (Virtual I/O Device
// specification 1.2, 5.1), written from the specification for host tests
// of tamanet's virtio-net driver. It is the device side of a
// virtio.Transport itself (the register layers of the PCI and MMIO
// transports are package virtio/model's), reads and writes the split
// virtqueues in memory it finds by bus address, and honours feature
// negotiation: the header length (VERSION_1, MRG_RXBUF), partial
// checksums and GSO both ways (completing or segmenting in software what
// the driver did not take), mergeable receive buffers, EVENT_IDX, link
// status and configuration interrupts, DEVICE_NEEDS_RESET. Everything the
// driver hands the device is checked and what is wrong is counted in
// Stats. Never a panic. A Model is safe for concurrent use; it never
// calls out (interrupts, transmitted frames) with its lock held.
package model

import (
	"sync"
	"sync/atomic"

	"tamanet/virtio"
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

// Device status bits (2.1).
const (
	sAcknowledge = 1
	sDriver      = 2
	sDriverOK    = 4
	sFeaturesOK  = 8
	sNeedsReset  = 64
	sFailed      = 128
)

// Memory is the device's view of the host's memory (the shared test
// arena satisfies it).
type Memory interface {
	Bytes(addr uint64, n int) ([]byte, bool)
}

// Config parametrises a Model.
type Config struct {
	// Memory is what the device reads and writes by DMA.
	Memory Memory
	// Features are the bits offered; zero means AllFeatures, unless
	// NoFeatures. F_MTU is added when MTU is set.
	Features   uint64
	NoFeatures bool
	// Legacy makes a legacy (pre-1.0) device: 32 feature bits, no
	// FEATURES_OK, queue sizes fixed at QueueMax.
	Legacy bool
	// QueueMax is each queue's largest size; zero means 256.
	QueueMax uint16
	// MAC is the address in the configuration.
	MAC [6]byte
	// MTU, if nonzero, is offered in the configuration (F_MTU).
	MTU uint16
	// LinkDown starts the device with its link down.
	LinkDown bool
	// IRQ is called for each interrupt on the device's one line (ISR
	// set); MSIX for each interrupt on an MSI-X vector the driver
	// assigned. Both run without the model's lock.
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
	Resets, Notifies        uint64
	Interrupts, ConfigIRQs  uint64
	TxFrames, TxBytes       uint64
	TxGSO, TxCsum           uint64
	RxFrames, RxBytes       uint64
	RxMerged                uint64 // frames spread over several buffers
	RxNoBuffers             uint64 // frames dropped: no buffer posted (ring overflow)
	RxTooBig                uint64 // frames dropped: bigger than the buffers posted
	RxLinkDown, RxNotReady  uint64 // frames dropped: link down, or before DRIVER_OK
	RxSegmented, RxCsumDone uint64 // GSO and partial frames finished in software for the driver

	FeaturesAcked      uint64
	StatusTransitions  []uint8
	NotifyBeforeReady  uint64 // a notification before DRIVER_OK (3.1.1)
	BadFeatures        uint64 // bits the device did not offer, or features changed after FEATURES_OK
	BadQueue           uint64 // setup of a queue that does not exist, a bad size or ring address
	BadDescriptor      uint64 // index out of range, loop, indirect, wrong direction
	BadAddress         uint64 // a buffer outside memory
	BadAvailIdx        uint64 // more chains made available than the queue holds
	BadTxHeader        uint64 // an offload not negotiated or outside the frame, num_buffers set
	BadTxFrame         uint64 // shorter than an Ethernet header, or over the MTU without GSO
	BadConfigAccess    uint64
	InjectedUsed       uint64
	InjectedRaw        uint64
	NeedsResetRequests uint64
}

// Model is one virtio-net device.
type Model struct {
	mu  sync.Mutex
	cfg Config

	status       uint8
	features     uint64 // the driver's choice
	linkUp       bool
	configVector uint16
	isr          uint8
	q            [2]queue
	chain        []desc // scratch for walking chains
	st           Stats

	transmit atomic.Pointer[func([]byte, Header)]
}

// Queue numbers (5.1.2).
const (
	rxQ = 0
	txQ = 1
)

// New returns a device fresh from reset.
func New(cfg Config) *Model {
	if cfg.Features == 0 && !cfg.NoFeatures {
		cfg.Features = AllFeatures
	}
	if cfg.MTU != 0 {
		cfg.Features |= F_MTU
	}
	if cfg.Legacy {
		cfg.Features &= 0xFFFFFFFF &^ F_VERSION_1
	}
	if cfg.QueueMax == 0 {
		cfg.QueueMax = 256
	}
	m := &Model{cfg: cfg, linkUp: !cfg.LinkDown}
	m.resetLocked()
	if cfg.Transmit != nil {
		m.SetTransmit(cfg.Transmit)
	}
	return m
}

// SetTransmit replaces Config.Transmit, for wiring two devices together.
func (m *Model) SetTransmit(f func(frame []byte, h Header)) { m.transmit.Store(&f) }

var _ virtio.Transport = (*Model)(nil)

// Stats returns a copy of the counters.
func (m *Model) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.st
	s.StatusTransitions = append([]uint8(nil), s.StatusTransitions...)
	return s
}

// DriverFeatures returns the features the driver wrote.
func (m *Model) DriverFeatures() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.features
}

// Name implements virtio.Transport.
func (m *Model) Name() string { return "model" }

// Legacy implements virtio.Transport.
func (m *Model) Legacy() bool { return m.cfg.Legacy }

// Reset implements virtio.Transport: the device forgets everything the
// driver set up.
func (m *Model) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Resets++
	m.resetLocked()
	return nil
}

func (m *Model) resetLocked() {
	m.status, m.features, m.isr = 0, 0, 0
	m.configVector = virtio.NoVector
	m.q = [2]queue{{vector: virtio.NoVector}, {vector: virtio.NoVector}}
}

// Status implements virtio.Transport.
func (m *Model) Status() uint8 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// SetStatus implements virtio.Transport. FEATURES_OK sticks only if the
// driver chose among the offered bits (3.1.1 step 5); 0 resets.
func (m *Model) SetStatus(s uint8) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.StatusTransitions = append(m.st.StatusTransitions, s)
	if s == 0 {
		m.st.Resets++
		m.resetLocked()
		return
	}
	if s&sFeaturesOK != 0 && m.status&sFeaturesOK == 0 {
		if m.cfg.Legacy || m.features&^m.cfg.Features != 0 || m.features&F_VERSION_1 == 0 {
			m.st.BadFeatures++
			s &^= sFeaturesOK
		}
	}
	// The device's own bits stay.
	m.status = s | m.status&sNeedsReset
}

// DeviceFeatures implements virtio.Transport.
func (m *Model) DeviceFeatures() uint64 { return m.cfg.Features }

// SetDriverFeatures implements virtio.Transport.
func (m *Model) SetDriverFeatures(f uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.status&sFeaturesOK != 0 || f&^m.cfg.Features != 0 {
		m.st.BadFeatures++
	}
	m.features = f
	m.st.FeaturesAcked = f
}

// Configuration layout (5.1.4).
const (
	cfgMAC     = 0
	cfgStatus  = 6
	cfgPairs   = 8
	cfgMTU     = 10
	configSize = 12

	sLinkUp = 1
)

func (m *Model) configBytes() [configSize]byte {
	var c [configSize]byte
	copy(c[cfgMAC:], m.cfg.MAC[:])
	if m.linkUp {
		c[cfgStatus] = sLinkUp
	}
	c[cfgPairs] = 1
	c[cfgMTU], c[cfgMTU+1] = byte(m.cfg.MTU), byte(m.cfg.MTU>>8)
	return c
}

// ReadConfig implements virtio.Transport.
func (m *Model) ReadConfig(off int, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.configBytes()
	if off < 0 || off+len(p) > len(c) {
		m.st.BadConfigAccess++
		clear(p)
		return
	}
	copy(p, c[off:])
}

// WriteConfig implements virtio.Transport: only a legacy driver may write
// the MAC (5.1.4.2).
func (m *Model) WriteConfig(off int, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.cfg.Legacy || off < 0 || off+len(p) > 6 {
		m.st.BadConfigAccess++
		return
	}
	copy(m.cfg.MAC[off:], p)
}

// QueueMax implements virtio.Transport.
func (m *Model) QueueMax(q uint16) uint16 {
	if q > txQ {
		return 0
	}
	return m.cfg.QueueMax
}

// SetupQueue implements virtio.Transport.
func (m *Model) SetupQueue(q uint16, size uint16, r virtio.RingAddrs, vector uint16) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if q > txQ || size == 0 || size&(size-1) != 0 || size > m.cfg.QueueMax || (m.cfg.Legacy && size != m.cfg.QueueMax) ||
		(m.cfg.Legacy && r.Desc%virtio.QueueAlign != 0) || m.status&sDriverOK != 0 {
		m.st.BadQueue++
		return errBadQueue
	}
	qu := &m.q[q]
	qu.vector = vector
	if !qu.setup(m.cfg.Memory, size, r) {
		m.st.BadQueue++
		return errBadQueue
	}
	return nil
}

// SetConfigVector implements virtio.Transport.
func (m *Model) SetConfigVector(v uint16) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.configVector = v
	return nil
}

// AckInterrupt implements virtio.Transport: reading the ISR clears it.
func (m *Model) AckInterrupt() uint8 {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.isr
	m.isr = 0
	return v
}

// SetLink takes the link up or down and, with F_STATUS negotiated and the
// driver ready, raises a configuration change interrupt.
func (m *Model) SetLink(up bool) {
	m.mu.Lock()
	changed := m.linkUp != up
	m.linkUp = up
	raise := changed && m.features&F_STATUS != 0 && m.status&sDriverOK != 0
	m.mu.Unlock()
	if raise {
		m.configInterrupt()
	}
}

// SetNeedsReset makes the device ask for a reset (2.1.2) and tells the
// driver with a configuration change interrupt.
func (m *Model) SetNeedsReset() {
	m.mu.Lock()
	m.status |= sNeedsReset
	m.st.NeedsResetRequests++
	ready := m.status&sDriverOK != 0
	m.mu.Unlock()
	if ready {
		m.configInterrupt()
	}
}

// configInterrupt raises a configuration change interrupt.
func (m *Model) configInterrupt() {
	m.mu.Lock()
	m.st.ConfigIRQs++
	v := m.configVector
	if v == virtio.NoVector {
		m.isr |= virtio.ISRConfig
	}
	m.mu.Unlock()
	m.raise(v)
}

// raise delivers an interrupt on vector v, or on the line for NoVector.
// Called without the lock.
func (m *Model) raise(v uint16) {
	if v != virtio.NoVector {
		if m.cfg.MSIX != nil {
			m.cfg.MSIX(v)
		}
		return
	}
	if m.cfg.IRQ != nil {
		m.cfg.IRQ()
	}
}

// queueInterrupt is a used buffer notification for queue q, if the driver
// wants it; called with the lock held, it returns the vector to raise
// after unlocking (or noIRQ).
func (m *Model) queueInterrupt(q int) uint16 {
	qu := &m.q[q]
	if !qu.wantsInterrupt(m.features&F_RING_EVENT_IDX != 0) {
		return noIRQ
	}
	m.st.Interrupts++
	if qu.vector == virtio.NoVector {
		m.isr |= virtio.ISRQueue
	}
	return qu.vector
}

// noIRQ is "no interrupt to raise"; NoVector means the line.
const noIRQ = 0xFFFE

// Notify implements virtio.Transport: the transmit queue is served at
// once; a receive notification only says buffers were posted.
func (m *Model) Notify(q uint16) {
	m.mu.Lock()
	m.st.Notifies++
	if m.status&sDriverOK == 0 {
		m.st.NotifyBeforeReady++
		m.mu.Unlock()
		return
	}
	if q != txQ {
		m.mu.Unlock()
		return
	}
	out, irq := m.serveTx()
	m.mu.Unlock()
	m.afterUnlock(irq)
	if tx := m.transmit.Load(); tx != nil {
		for _, f := range out {
			(*tx)(f.frame, f.hdr)
		}
	}
}

// afterUnlock raises irq unless it is noIRQ.
func (m *Model) afterUnlock(irq uint16) {
	if irq != noIRQ {
		m.raise(irq)
	}
}

// usable reports a device the driver has set up: DRIVER_OK, queue ready,
// no reset pending.
func (m *Model) usable(q int) bool {
	return m.status&sDriverOK != 0 && m.status&sNeedsReset == 0 && m.q[q].ready
}

// hdrLen is the header length the negotiated features call
// for (5.1.6): 12 with VERSION_1 or MRG_RXBUF, else 10.
func (m *Model) hdrLen() int {
	if m.features&(F_VERSION_1|F_MRG_RXBUF) != 0 {
		return 12
	}
	return 10
}
