// Package e1000 drives the Intel 82540EM Gigabit Ethernet controller (PCI
// 8086:100e, QEMU's "e1000") as described in the PCI/PCI-X Family of Gigabit
// Ethernet Controllers Software Developer's Manual (8254x, rev. 4.0). Section
// numbers in comments refer to that manual.
//
// The driver uses one legacy receive ring and one legacy transmit ring with
// fixed, preallocated DMA buffers that are recycled in place, interrupts
// for link changes, and a napi.Instance for receive and transmit completion
// work. It reaches the hardware only through Registers and DMA, so the same
// code runs against a software model under go test and against the device
// in the unikernel. The file split follows Linux's e1000: chip work (regs,
// desc, eeprom, init, filter, stats) apart from the data path (rx, tx, irq)
// and the stack glue (this file).
package e1000

import (
	"errors"
	"sync"
	"sync/atomic"

	"tamanet/napi"
	"tamanet/upcall"
)

// Errors returned by the driver.
var (
	ErrConfig         = errors.New("e1000: invalid configuration")
	ErrResetTimeout   = errors.New("e1000: device reset did not complete")
	ErrEEPROMTimeout  = errors.New("e1000: EEPROM read did not complete")
	ErrMisaligned     = errors.New("e1000: DMA memory not 16-byte aligned")
	ErrEEPROMChecksum = errors.New("e1000: EEPROM checksum mismatch")
	ErrBadMAC         = errors.New("e1000: not a unicast station address")
	ErrNotMulticast   = errors.New("e1000: not a multicast address")
	ErrNotFound       = errors.New("e1000: multicast address not in the filter")
	ErrFilterFull     = errors.New("e1000: multicast filter list full")
)

// Device is one 82540EM. Its methods are safe for concurrent use; the
// receive path, the transmit path and the filters each have their own lock,
// taken in that order when more than one is needed (reset), and carrier
// updates take carrierMu after any of them.
type Device struct {
	regs Registers
	cfg  Config
	napi *napi.Instance

	// DMA memory, fixed after New.
	rxRing, rxBufs       []byte
	rxRingBus, rxBufsBus uint64
	txRing, txBufs       []byte
	txRingBus, txBufsBus uint64
	txWake               int // free descriptors needed to wake a stopped queue

	txSlots  []txSlot  // per descriptor, for packets starting there
	txBufMap []txBuf   // per descriptor, what its data descriptor points at
	mapper   DMAMapper // nil: every frame is copied
	txCmdIDE uint8     // TXD_CMD_IDE when TIDV delays completions
	maxFrame int       // largest frame without TSO, header included

	// Receive buffers, sized for the MTU: bytes each, their RCTL bits
	// (BSIZE, BSEX, LPE), and the longest frame delivered.
	rxBufSize  int
	rxBufRCTL  uint32
	maxRxFrame int

	rxMu          sync.Mutex
	rxNextToClean int  // next descriptor to examine
	rxDiscard     bool // dropping the rest of a frame that lacked EOP
	rxFirstSeen   bool // EventFirstFrame was reported
	rx            RxStats

	txMu          sync.Mutex
	txNextToUse   int  // next descriptor to fill (the value of TDT)
	txNextToClean int  // oldest descriptor not yet reclaimed
	txStopped     bool // Transmit turned frames away; txReady owed
	txWatch       txWatch
	tx            TxStats
	txCtx         txCtxCache // the offload context the device holds

	filterMu sync.Mutex
	mac      [6]byte
	promisc  bool
	mcast    [][6]byte
	mta      [MTASize]uint32 // shadow of the MTA registers

	// carrierMu serialises carrier updates (syncCarrier). unconfigured is
	// set while a reset runs and after one that failed: the device is not
	// programmed, so its link does not count.
	carrierMu    sync.Mutex
	unconfigured bool
	carrier      atomic.Bool
	up           upcall.Set
	dev          devCounters

	hwMu sync.Mutex
	hw   HWStats
}

// Compile-time check that the driver is a poller for the engine.
var _ napi.Poller = (*Device)(nil)

// NAPI returns the device's poll engine; the owner runs it (Run) after
// hooking HandleInterrupt to the device's interrupt line.
func (d *Device) NAPI() *napi.Instance { return d.napi }

// MTU is the largest IP payload per frame (Config.MTU).
func (d *Device) MTU() int { return d.cfg.MTU }

// MAC returns the station address programmed in RAL0/RAH0.
func (d *Device) MAC() [6]byte {
	d.filterMu.Lock()
	defer d.filterMu.Unlock()
	return d.mac
}

// LinkUp reports the carrier as last seen in STATUS.LU (at init, on a link
// status change interrupt, or after a reset); it is down during a reset and
// after one that failed.
func (d *Device) LinkUp() bool { return d.carrier.Load() }

// Attach registers the stack's callbacks. rx runs in the poll loop for each
// good frame, which is valid only during the call; link runs on carrier
// changes, one call at a time and in the order they happen, and must
// neither block nor call Reset; txReady runs when a transmit queue that
// turned frames away has room again. Any of them may be nil. Frames that
// arrive with no rx callback are dropped and counted.
func (d *Device) Attach(rx func(frame []byte, csumOK bool), link func(up bool), txReady func()) {
	d.up.Attach(rx, link, txReady)
}

// OnRxBatchEnd registers f, called in the poll loop after each poll that
// delivered frames to the rx callback, so the stack can finish work it
// batches across frames (GRO).
func (d *Device) OnRxBatchEnd(f func()) { d.up.OnRxBatchEnd(f) }

// syncCarrier sets the carrier from STATUS.LU, or down while the device is
// unconfigured, and tells the stack if it changed. Reading STATUS, recording
// the result and the upcall are one step under carrierMu: a link interrupt
// and a reset cannot interleave their updates, so the stack hears the
// changes in the order they happen and the last update always comes from
// the last read of STATUS.
func (d *Device) syncCarrier() {
	d.carrierMu.Lock()
	defer d.carrierMu.Unlock()
	d.syncCarrierLocked()
}

func (d *Device) syncCarrierLocked() {
	up := !d.unconfigured && d.statusLU()
	if d.carrier.Swap(up) == up {
		return
	}
	d.dev.linkChanges.Add(1)
	d.up.Link(up)
}

// statusLU reads STATUS.LU.
func (d *Device) statusLU() bool { return d.regs.Read32(STATUS)&STATUS_LU != 0 }

// setUnconfigured marks whether the device is programmed and updates the
// carrier to match.
func (d *Device) setUnconfigured(v bool) {
	d.carrierMu.Lock()
	defer d.carrierMu.Unlock()
	d.unconfigured = v
	d.syncCarrierLocked()
}

// next returns the ring index after i in a ring of n.
func next(i, n int) int {
	if i++; i == n {
		return 0
	}
	return i
}
