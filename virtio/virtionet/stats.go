package virtionet

import (
	"tamanet/napi"
	"tamanet/virtio"
)

// Stats is a snapshot of every counter the driver keeps.
type Stats struct {
	LinkUp bool `json:"link_up"`
	// Features are the negotiated features by name.
	Features string      `json:"features"`
	RX       RxStats     `json:"rx"`
	TX       TxStats     `json:"tx"`
	Device   DeviceStats `json:"device"`
	// RxQueue and TxQueue are the virtqueues' own counters.
	RxQueue virtio.QueueStats `json:"rx_queue"`
	TxQueue virtio.QueueStats `json:"tx_queue"`
	// NAPI is the poll engine's counters.
	NAPI napi.Stats `json:"napi"`
	// Rings is what the queues hold at the moment of the snapshot.
	Rings RingStats `json:"rings"`
}

// RingStats is the occupancy of the queues.
type RingStats struct {
	// RxPosted counts receive buffers with the device (of RxBuffers);
	// TxInFlight transmit descriptors not yet reclaimed (of TxSize).
	RxPosted   uint64 `json:"rx_posted" metric:"gauge"`
	TxInFlight uint64 `json:"tx_in_flight" metric:"gauge"`
	RxBuffers  uint64 `json:"rx_buffers" metric:"gauge"`
	// RxBufferSize is the size of each receive buffer.
	RxBufferSize uint64 `json:"rx_buffer_size" metric:"gauge"`
	RxSize       uint64 `json:"rx_size" metric:"gauge"`
	TxSize       uint64 `json:"tx_size" metric:"gauge"`
}

// DeviceStats counts interrupts and device-level events.
type DeviceStats struct {
	// Interrupts counts HandleInterrupt calls that found a cause;
	// Spurious those that found none (another device on a shared line).
	Interrupts uint64 `json:"interrupts"`
	Spurious   uint64 `json:"spurious"`
	// QueueInterrupts and ConfigInterrupts count the two kinds of cause,
	// from the shared line or their MSI-X vectors.
	QueueInterrupts  uint64 `json:"queue_interrupts"`
	ConfigInterrupts uint64 `json:"config_interrupts"`
	// RearmRaces counts re-arms that found buffers used meanwhile and
	// polled again instead.
	RearmRaces uint64 `json:"rearm_races"`
	// LinkChanges counts carrier transitions reported to the stack.
	LinkChanges uint64 `json:"link_changes"`
	// NeedsReset counts DEVICE_NEEDS_RESET seen; Resets device resets
	// after New; TxTimeouts those the watchdog started because
	// transmission stalled.
	NeedsReset uint64 `json:"needs_reset"`
	Resets     uint64 `json:"resets"`
	TxTimeouts uint64 `json:"tx_timeouts"`
}

// UpdateStats exists for symmetry with the e1000: a virtio device keeps
// no statistics registers to accumulate.
func (d *Device) UpdateStats() {}

// Stats returns a snapshot of the counters. It takes the receive and
// transmit locks briefly, so it must not be called from the rx callback.
func (d *Device) Stats() Stats {
	s := Stats{LinkUp: d.carrier.Load(), Features: d.Features(), NAPI: d.napi.Stats()}
	d.rxSnapshot(&s)
	d.txSnapshot(&s)
	c := &d.dev
	s.Device = DeviceStats{
		Interrupts:       c.interrupts.Load(),
		Spurious:         c.spurious.Load(),
		QueueInterrupts:  c.queueIRQs.Load(),
		ConfigInterrupts: c.configIRQs.Load(),
		RearmRaces:       c.rearmRaces.Load(),
		LinkChanges:      c.linkChanges.Load(),
		NeedsReset:       c.needsReset.Load(),
		Resets:           c.resets.Load(),
		TxTimeouts:       c.txTimeouts.Load(),
	}
	return s
}

func (d *Device) rxSnapshot(s *Stats) {
	d.rxMu.Lock()
	defer d.rxMu.Unlock()
	s.RX, s.RxQueue = d.rx, d.rxq.Stats()
	s.Rings.RxPosted = uint64(d.rxq.InFlight())
	s.Rings.RxBuffers, s.Rings.RxBufferSize = uint64(d.rxb.count), uint64(d.rxb.size)
	s.Rings.RxSize = uint64(d.rxq.Size())
}

func (d *Device) txSnapshot(s *Stats) {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	s.TX, s.TxQueue = d.tx, d.txq.Stats()
	s.Rings.TxInFlight = uint64(d.txq.Size() - d.txq.Free())
	s.Rings.TxSize = uint64(d.txq.Size())
}

// Drops is the sum of the drop counters: frames Transmit consumed without
// queueing, and queued ones a reset discarded.
func (s *TxStats) Drops() uint64 {
	return s.DropRunt + s.DropOversize + s.DropBadOffload + s.DropExceedsRing + s.DropNoCarrier + s.DropReset
}

// Drops is the sum of the drop counters: packets not delivered, and
// buffers a reset took back unread.
func (s *RxStats) Drops() uint64 {
	return s.DropShort + s.DropBadHeader + s.DropBadNumBuffers + s.DropBadLength + s.DropZeroLength +
		s.DropRunt + s.DropOversize + s.DropNoHandler + s.DropReset
}
