// Package model is a software model of the Intel 82540EM Gigabit Ethernet
// controller, written from the Intel 8254x Family of Gigabit Ethernet
// Controllers Software Developer's Manual (order number 317453), for host
// unit tests of the tamanet e1000 driver.
//
// It is a test model, not a driver: it plays the device side. The driver
// reaches it through Read32/Write32 (BAR0 MMIO) and the DMA arena returned
// by DMA(); tests reach the wire through Receive and SetTransmitHandler,
// the interrupt line through SetIRQHandler, and time through Advance when
// Config.ManualClock is set. Section numbers in comments refer to that
// manual. Behaviour the manual leaves open, or that the model simplifies, is
// said so where it happens.
//
// Everything the driver hands the device (ring bases, lengths, head and
// tail indices, buffer addresses) is checked against the arena; bad values
// are counted in Stats and reported as errors, never a panic. A Model is
// safe for concurrent use: one mutex guards it, and the IRQ and transmit
// handlers are always called with that mutex released.
package model

import (
	"sync"
	"time"

	"tamanet/devmodel/arena"
)

// Config parametrises a Model.
type Config struct {
	// MAC is burned into EEPROM words 0-2 and loaded into RAL0/RAH0 on
	// reset.
	MAC [6]byte
	// MemSize is the size in bytes of the DMA arena returned by DMA();
	// zero means arena.DefaultSize (8 MiB).
	MemSize int
	// ManualClock makes time move only through Advance. Otherwise the
	// model uses the real clock and fires timers with time.AfterFunc.
	ManualClock bool
	// AutoReadDelay is how long the EEPROM auto-read takes after a reset
	// (CTRL.RST): until it completes RAL0/RAH0 read as zero (RAH0.AV
	// clear), and when it completes they are loaded from the EEPROM,
	// overwriting whatever software wrote there meanwhile (13.5.3). Zero
	// means the load is instant, as in QEMU.
	AutoReadDelay time.Duration
}

// Model is one simulated 82540EM. Create it with New.
type Model struct {
	mu    sync.Mutex
	cfg   Config
	arena *arena.Arena

	eeprom [eepromWords]uint16
	phy    [32]uint16

	// Registers with behaviour. Plain read/write registers live in plain.
	ctrl, icr, ims, itr, eerd, mdic uint32
	rctl, tctl, rxcsum              uint32
	rdbal, rdbah, rdlen, rdh, rdt   uint32
	rdtr, radv                      uint32
	tdbal, tdbah, tdlen, tdh, tdt   uint32
	tidv, tadv                      uint32
	mta                             [MTASize]uint32
	ra                              [RASize][2]uint32
	stats                           [statsRegs]uint32
	plain                           map[uint32]uint32

	cable bool // link partner present (SetLink)
	lu    bool // STATUS.LU last reported, for LSC

	// autoReadAt is when the EEPROM auto-read loads RAL0/RAH0, if
	// autoReadPending (see Config.AutoReadDelay).
	autoReadAt      time.Duration
	autoReadPending bool

	// INTx line and its throttling (intr.go).
	line         bool
	lastAssert   time.Duration
	everAsserted bool
	pendingEdges int // rising edges not yet reported to irqHandler
	irqHandler   func()

	// Time and the mitigation timers (timers.go).
	clk                              clock
	rdtrT, radvT, tidvT, tadvT, itrT deadline

	// Transmit path (tx.go): the packet being gathered, frames waiting for
	// the handler, and recycled frame buffers.
	txPkt           txPacket
	txCtx           txContext // the TCP/IP context (3.3.6)
	txSeg           []byte    // scratch for one TSO segment
	txQueue, txFree [][]byte
	txHead          int // txQueue[txHead:] waits for the handler
	txDelivering    bool
	txHandler       func(frame []byte)

	rxScratch []byte // frame plus FCS, reused by Receive

	st                  ModelStats
	regReads, regWrites []uint64 // per 32-bit register, for Accesses
}

// New returns a model that has just come out of power-on reset, with the
// cable connected (SetLink(true)); STATUS.LU rises once the driver sets
// CTRL.SLU (8.6.2.1).
func New(cfg Config) *Model {
	m := &Model{
		cfg:       cfg,
		arena:     arena.New(cfg.MemSize),
		cable:     true,
		rxScratch: make([]byte, 0, MaxFrameLPE),
		regReads:  make([]uint64, BAR0Size/4),
		regWrites: make([]uint64, BAR0Size/4),
	}
	m.eeprom = buildEEPROM(cfg.MAC)
	m.txPkt.buf = make([]byte, 0, MaxTxPacket)
	m.txSeg = make([]byte, 0, MaxTxPacket)
	m.clk.init(cfg.ManualClock, m.onTimer)
	m.reset()
	// The power-on auto-read is over before software can look.
	m.autoReadAt = m.now()
	m.autoRead()
	return m
}

// DMA returns the arena the driver allocates rings and buffers from.
func (m *Model) DMA() *arena.Arena { return m.arena }

// SetIRQHandler installs h, called once per rising edge of the INTx line:
// when ICR&IMS goes from zero to nonzero, subject to ITR. It is called with
// no model lock held, synchronously on the goroutine whose register access,
// Receive, SetLink or Advance caused the edge, or, with the real clock, on
// the timer's goroutine when a mitigation timer expires.
func (m *Model) SetIRQHandler(h func()) {
	m.mu.Lock()
	m.irqHandler = h
	m.mu.Unlock()
}

// SetTransmitHandler installs h, which receives every frame the device puts
// on the wire, without FCS. frame is valid only during the call. Frames are
// processed inside Write32(TDT) and delivered in ring order before that
// Write32 returns, except when a delivery is already in progress (the
// handler re-entered the model, or another goroutine is delivering): then
// the running delivery sends them, still in order.
func (m *Model) SetTransmitHandler(h func(frame []byte)) {
	m.mu.Lock()
	m.txHandler = h
	m.mu.Unlock()
}

// IRQAsserted reports the INTx line level now: ICR&IMS is nonzero and the
// ITR interval, if any, has let the assertion through.
func (m *Model) IRQAsserted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.line
}

// SetLink connects (up) or pulls (down) the cable. STATUS.LU follows when
// CTRL.SLU is set, and every change of STATUS.LU raises ICR.LSC (8.6.5.2).
func (m *Model) SetLink(up bool) {
	m.mu.Lock()
	m.cable = up
	m.updateLink()
	m.unlockNotify()
}

// Close stops the real-clock timer, if any. The model stays usable; timers
// simply no longer fire on their own.
func (m *Model) Close() {
	m.mu.Lock()
	m.clk.stop()
	m.mu.Unlock()
}

// linkUp is STATUS.LU: the PHY has link and software has set CTRL.SLU,
// without which the MAC ignores the PHY's link signal (8.6.2.1).
func (m *Model) linkUp() bool { return m.cable && m.ctrl&CTRL_SLU != 0 }

func (m *Model) updateLink() {
	if lu := m.linkUp(); lu != m.lu {
		m.lu = lu
		m.setCause(ICR_LSC)
	}
}

// reset puts every register back to its initial value (CTRL.RST, 13.4.1):
// rings, interrupt state, filters, timers and statistics. The EEPROM, the
// cable and the arena survive, as do frames already handed to the wire.
// RAL0/RAH0 are reloaded from the EEPROM.
func (m *Model) reset() {
	m.ctrl, m.icr, m.ims, m.itr, m.eerd, m.mdic = 0, 0, 0, 0, 0, 0
	m.rctl, m.tctl, m.rxcsum = 0, 0, 0
	m.rdbal, m.rdbah, m.rdlen, m.rdh, m.rdt, m.rdtr, m.radv = 0, 0, 0, 0, 0, 0, 0
	m.tdbal, m.tdbah, m.tdlen, m.tdh, m.tdt, m.tidv, m.tadv = 0, 0, 0, 0, 0, 0, 0
	m.mta = [MTASize]uint32{}
	m.ra = [RASize][2]uint32{}
	m.autoReadAt, m.autoReadPending = m.now()+m.cfg.AutoReadDelay, true
	m.autoRead()
	m.stats = [statsRegs]uint32{}
	m.plain = plainDefaults()
	m.phy = phyDefaults()
	m.lu = m.linkUp()
	m.line, m.everAsserted, m.lastAssert = false, false, 0
	for _, d := range m.deadlines() {
		m.disarm(d)
	}
	m.txPkt.clear()
	m.txCtx = txContext{}
}

// autoRead completes the EEPROM auto-read once its time has come: RAL0 and
// RAH0 (with AV) are loaded from EEPROM words 0-2. Called under m.mu before
// anything that may observe them.
func (m *Model) autoRead() {
	if !m.autoReadPending || m.now() < m.autoReadAt {
		return
	}
	m.autoReadPending = false
	m.ra[0][0] = uint32(m.eeprom[0]) | uint32(m.eeprom[1])<<16
	m.ra[0][1] = uint32(m.eeprom[2]) | RAH_AV
}

// unlockNotify releases m.mu and then does what must happen without it:
// arm the real-clock timer, deliver queued transmit frames, and call the IRQ
// handler once per rising edge recorded while the lock was held.
func (m *Model) unlockNotify() {
	m.rearm()
	edges := m.pendingEdges
	m.pendingEdges = 0
	irq := m.irqHandler
	deliver := len(m.txQueue) > m.txHead && !m.txDelivering
	if deliver {
		m.txDelivering = true
	}
	m.mu.Unlock()
	if deliver {
		m.deliverTx()
	}
	if irq != nil {
		for range edges {
			irq()
		}
	}
}
