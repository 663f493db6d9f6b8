package e1000

import "tamanet/napi"

// Stats is a snapshot of every counter the driver keeps.
type Stats struct {
	LinkUp bool
	RX     RxStats
	TX     TxStats
	Device DeviceStats
	// HW is the device's own statistics registers, accumulated by
	// UpdateStats (the watchdog calls it).
	HW HWStats
	// NAPI is the poll engine's counters.
	NAPI napi.Stats
	// Rings is what the rings hold at the moment of the snapshot.
	Rings RingStats
}

// RingStats is the occupancy of the rings: a receive ring that stays full
// or a transmit ring that never drains shows here before it shows as
// drops.
type RingStats struct {
	// RxReady counts receive descriptors the device has written back that
	// the poll loop has not harvested yet (of RxSize).
	RxReady uint64 `metric:"gauge"`
	// TxInFlight counts transmit descriptors handed to the device and not
	// yet reclaimed (of TxSize).
	TxInFlight uint64 `metric:"gauge"`
	// RxSize and TxSize are the rings' lengths in descriptors.
	RxSize, TxSize uint64 `metric:"gauge"`
}

// DeviceStats counts interrupts and device-level events.
type DeviceStats struct {
	// Interrupts counts HandleInterrupt calls that found a cause in ICR;
	// Spurious those that found none (another device on a shared line).
	Interrupts, Spurious uint64
	// LinkInterrupts and RxOverruns count the LSC and RXO causes seen.
	LinkInterrupts, RxOverruns uint64
	// LinkChanges counts carrier transitions reported to the stack.
	LinkChanges uint64
	// Resets counts device resets after New; TxTimeouts those the watchdog
	// started because transmission stalled.
	Resets, TxTimeouts uint64
	// RCTLWrites counts writes to RCTL: one at bring-up, then only real
	// changes (QEMU's e1000 stops receiving for a second after each).
	RCTLWrites uint64
}

// HWStats holds the statistics registers (13.7), widened to 64 bits.
type HWStats struct {
	CRCErrors           uint64 // CRCERRS
	AlignmentErrors     uint64 // ALGNERRC
	SymbolErrors        uint64 // SYMERRS
	RxErrors            uint64 // RXERRC
	MissedPackets       uint64 // MPC: dropped for lack of buffers or FIFO space
	SingleCollisions    uint64 // SCC
	ExcessiveCollisions uint64 // ECOL
	MultipleCollisions  uint64 // MCC
	LateCollisions      uint64 // LATECOL
	Collisions          uint64 // COLC
	Defers              uint64 // DC
	TxNoCRS             uint64 // TNCRS
	SequenceErrors      uint64 // SEC
	CarrierExtErrors    uint64 // CEXTERR
	RxLengthErrors      uint64 // RLEC
	XONRx               uint64 // XONRXC
	XONTx               uint64 // XONTXC
	XOFFRx              uint64 // XOFFRXC
	XOFFTx              uint64 // XOFFTXC
	FlowCtlUnsupported  uint64 // FCRUC
	Rx64                uint64 // PRC64
	Rx65To127           uint64 // PRC127
	Rx128To255          uint64 // PRC255
	Rx256To511          uint64 // PRC511
	Rx512To1023         uint64 // PRC1023
	Rx1024ToMax         uint64 // PRC1522
	GoodPacketsRx       uint64 // GPRC
	BroadcastRx         uint64 // BPRC
	MulticastRx         uint64 // MPRC
	GoodPacketsTx       uint64 // GPTC
	GoodOctetsRx        uint64 // GORCL/GORCH
	GoodOctetsTx        uint64 // GOTCL/GOTCH
	RxNoBuffers         uint64 // RNBC
	RxUndersize         uint64 // RUC
	RxFragments         uint64 // RFC
	RxOversize          uint64 // ROC
	RxJabber            uint64 // RJC
	TotalOctetsRx       uint64 // TORL/TORH
	TotalOctetsTx       uint64 // TOTL/TOTH
	TotalPacketsRx      uint64 // TPR
	TotalPacketsTx      uint64 // TPT
	Tx64                uint64 // PTC64
	Tx65To127           uint64 // PTC127
	Tx128To255          uint64 // PTC255
	Tx256To511          uint64 // PTC511
	Tx512To1023         uint64 // PTC1023
	Tx1024ToMax         uint64 // PTC1522
	MulticastTx         uint64 // MPTC
	BroadcastTx         uint64 // BPTC
}

// UpdateStats reads the statistics registers, which clear on read, and adds
// them to the 64-bit totals. Call it often enough that no 32-bit register
// wraps (the watchdog's once a second is plenty).
func (d *Device) UpdateStats() {
	d.hwMu.Lock()
	defer d.hwMu.Unlock()
	rd := func(off uint32) uint64 { return uint64(d.regs.Read32(off)) }
	// The octet counters are 64-bit pairs: low half first (13.7).
	rd64 := func(lo, hi uint32) uint64 {
		l := rd(lo)
		return rd(hi)<<32 | l
	}
	h := &d.hw
	h.CRCErrors += rd(CRCERRS)
	h.AlignmentErrors += rd(ALGNERRC)
	h.SymbolErrors += rd(SYMERRS)
	h.RxErrors += rd(RXERRC)
	h.MissedPackets += rd(MPC)
	h.SingleCollisions += rd(SCC)
	h.ExcessiveCollisions += rd(ECOL)
	h.MultipleCollisions += rd(MCC)
	h.LateCollisions += rd(LATECOL)
	h.Collisions += rd(COLC)
	h.Defers += rd(DC)
	h.TxNoCRS += rd(TNCRS)
	h.SequenceErrors += rd(SEC)
	h.CarrierExtErrors += rd(CEXTERR)
	h.RxLengthErrors += rd(RLEC)
	h.XONRx += rd(XONRXC)
	h.XONTx += rd(XONTXC)
	h.XOFFRx += rd(XOFFRXC)
	h.XOFFTx += rd(XOFFTXC)
	h.FlowCtlUnsupported += rd(FCRUC)
	h.Rx64 += rd(PRC64)
	h.Rx65To127 += rd(PRC127)
	h.Rx128To255 += rd(PRC255)
	h.Rx256To511 += rd(PRC511)
	h.Rx512To1023 += rd(PRC1023)
	h.Rx1024ToMax += rd(PRC1522)
	h.GoodPacketsRx += rd(GPRC)
	h.BroadcastRx += rd(BPRC)
	h.MulticastRx += rd(MPRC)
	h.GoodPacketsTx += rd(GPTC)
	h.GoodOctetsRx += rd64(GORCL, GORCH)
	h.GoodOctetsTx += rd64(GOTCL, GOTCH)
	h.RxNoBuffers += rd(RNBC)
	h.RxUndersize += rd(RUC)
	h.RxFragments += rd(RFC)
	h.RxOversize += rd(ROC)
	h.RxJabber += rd(RJC)
	h.TotalOctetsRx += rd64(TORL, TORH)
	h.TotalOctetsTx += rd64(TOTL, TOTH)
	h.TotalPacketsRx += rd(TPR)
	h.TotalPacketsTx += rd(TPT)
	h.Tx64 += rd(PTC64)
	h.Tx65To127 += rd(PTC127)
	h.Tx128To255 += rd(PTC255)
	h.Tx256To511 += rd(PTC511)
	h.Tx512To1023 += rd(PTC1023)
	h.Tx1024ToMax += rd(PTC1522)
	h.MulticastTx += rd(MPTC)
	h.BroadcastTx += rd(BPTC)
}

// Stats returns a snapshot of the counters. It takes the receive and
// transmit locks briefly, so it must not be called from the rx callback.
func (d *Device) Stats() Stats {
	s := Stats{LinkUp: d.carrier.Load(), NAPI: d.napi.Stats()}
	s.Rings.RxSize, s.Rings.TxSize = uint64(d.cfg.RxDescriptors), uint64(d.cfg.TxDescriptors)
	s.RX, s.Rings.RxReady = d.rxSnapshot()
	s.TX, s.Rings.TxInFlight = d.txSnapshot()
	s.HW = d.hwSnapshot()
	c := &d.dev
	s.Device = DeviceStats{
		Interrupts:     c.interrupts.Load(),
		Spurious:       c.spurious.Load(),
		LinkInterrupts: c.lsc.Load(),
		RxOverruns:     c.rxo.Load(),
		LinkChanges:    c.linkChanges.Load(),
		Resets:         c.resets.Load(),
		TxTimeouts:     c.txTimeouts.Load(),
		RCTLWrites:     c.rctlWrites.Load(),
	}
	return s
}

// The snapshots below defer their unlocks: Stats is called from HTTP
// handlers, and a fault while a lock is held (rxReady reads the ring in DMA
// memory) becomes a panic that net/http recovers; the lock must not stay
// held after it.

// rxSnapshot returns the receive counters and the receive ring's ready
// descriptors.
func (d *Device) rxSnapshot() (RxStats, uint64) {
	d.rxMu.Lock()
	defer d.rxMu.Unlock()
	return d.rx, uint64(d.rxReady())
}

// txSnapshot returns the transmit counters and the descriptors in flight.
func (d *Device) txSnapshot() (TxStats, uint64) {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	return d.tx, uint64(d.txInFlight())
}

// hwSnapshot returns the accumulated statistics registers.
func (d *Device) hwSnapshot() HWStats {
	d.hwMu.Lock()
	defer d.hwMu.Unlock()
	return d.hw
}

// ReadHWStats is UpdateStats followed by a snapshot of the accumulated
// registers: the device's own counts up to now, without taking the receive
// and transmit locks that Stats takes. Differences between two calls are
// what the device counted in between (the watchdog's reads in the
// meantime only move counts from the registers to the totals).
func (d *Device) ReadHWStats() HWStats {
	d.UpdateStats()
	return d.hwSnapshot()
}

// Drops is the sum of the drop counters: frames Transmit consumed without
// queueing, and queued ones a reset discarded.
func (s *TxStats) Drops() uint64 {
	return s.DropOversize + s.DropRunt + s.DropBadOffload + s.DropExceedsRing + s.DropNoCarrier + s.DropReset
}

// Drops is the sum of the drop counters: descriptors harvested that were
// not delivered.
func (s *RxStats) Drops() uint64 {
	return s.DropNoEOP + s.DropFrameError + s.DropZeroLength + s.DropRunt + s.DropOversize + s.DropNoHandler + s.DropReset
}
