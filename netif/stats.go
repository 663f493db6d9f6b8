package netif

import "sync/atomic"

// counters are the endpoint's own statistics, updated without locks.
type counters struct {
	rxFrames, rxBytes, rxCsumOK, rxRunt, rxDetached atomic.Uint64
	rxGROIn, rxGROOut, rxVerified, rxACKsCoalesced  atomic.Uint64
	txFrames, txBytes, txBackpressure, txReady      atomic.Uint64
	txTSO, txCsumOffload, txSoftGSO, txSoftSegments atomic.Uint64
	txDropTooBig, txDropLinkDown, txDropClosed      atomic.Uint64
	linkUp, linkDown                                atomic.Uint64
	rxCoalescedIn, rxCoalescedOut                   atomic.Uint64
	rxCoalesceFlush                                 [numFlushReasons]atomic.Uint64
}

// Counters is a snapshot of an Endpoint's statistics. Frame sizes include
// the Ethernet header and exclude the FCS.
type Counters struct {
	// RxFrames and RxBytes count every frame the driver delivered.
	RxFrames uint64 `json:"rx_frames"`
	RxBytes  uint64 `json:"rx_bytes"`
	// RxCsumOK counts frames whose checksums the device reported verified.
	RxCsumOK uint64 `json:"rx_csum_ok"`
	// RxRunt counts frames shorter than an Ethernet header, dropped.
	RxRunt uint64 `json:"rx_runt"`
	// RxDetached counts frames dropped because no stack was attached.
	RxDetached uint64 `json:"rx_detached"`
	// RxGROIn counts packets entering GRO, RxGROOut the packets it
	// delivered to the stack: their ratio is the coalescing factor.
	// Once a receive batch has ended, RxGROIn - RxGROOut -
	// RxACKsCoalesced is the number of segments GRO merged into others,
	// and RxFrames = RxRunt + RxDetached + RxGROIn.
	RxGROIn  uint64 `json:"rx_gro_in"`
	RxGROOut uint64 `json:"rx_gro_out"`
	// RxVerified counts delivered packets whose checksums were already
	// verified (by GRO or the device), so the stack skipped them.
	RxVerified uint64 `json:"rx_verified"`
	// RxACKsCoalesced counts pure ACKs dropped because they came between
	// two pure ACKs of their connection, the one before acknowledging
	// less and the next, in the same receive batch, more (they are among
	// RxGROIn, not RxGROOut; see ackcoalesce.go).
	RxACKsCoalesced uint64 `json:"rx_acks_coalesced"`
	// RxCoalescedIn counts frames the endpoint's coalescer took (they are
	// among RxGROIn), RxCoalescedOut the packets it made of them (among
	// RxGROOut); they skip gVisor's GRO engine (see coalesce.go).
	RxCoalescedIn  uint64 `json:"rx_coalesced_in"`
	RxCoalescedOut uint64 `json:"rx_coalesced_out"`
	// RxCoalesceFlush* count why the coalescer released its packets: the
	// receive batch ended, PSH or a short segment, a segment of the flow
	// that could not merge, the 64 KiB limit, too many flows, a frame of
	// unknown flow. They add up to RxCoalescedOut.
	RxCoalesceFlushBatchEnd uint64 `json:"rx_coalesce_flush_batch_end"`
	RxCoalesceFlushPush     uint64 `json:"rx_coalesce_flush_push"`
	RxCoalesceFlushMismatch uint64 `json:"rx_coalesce_flush_mismatch"`
	RxCoalesceFlushFull     uint64 `json:"rx_coalesce_flush_full"`
	RxCoalesceFlushEvict    uint64 `json:"rx_coalesce_flush_evict"`
	RxCoalesceFlushOther    uint64 `json:"rx_coalesce_flush_other"`

	// TxFrames and TxBytes count frames the driver accepted.
	TxFrames uint64 `json:"tx_frames"`
	TxBytes  uint64 `json:"tx_bytes"`
	// TxTSO counts frames handed to the driver for TCP segmentation,
	// TxCsumOffload those for checksum insertion only.
	TxTSO         uint64 `json:"tx_tso"`
	TxCsumOffload uint64 `json:"tx_csum_offload"`
	// TxSoftGSO counts GSO packets netif segmented itself (the device
	// could not), TxSoftSegments the frames they became.
	TxSoftGSO      uint64 `json:"tx_soft_gso"`
	TxSoftSegments uint64 `json:"tx_soft_segments"`
	// TxBackpressure counts Transmit calls that found the ring full and
	// made WritePackets wait for TxReady.
	TxBackpressure uint64 `json:"tx_backpressure"`
	// TxReady counts the driver's ring-drained upcalls.
	TxReady uint64 `json:"tx_ready"`
	// TxDropTooBig counts packets larger than the MTU, dropped.
	TxDropTooBig uint64 `json:"tx_drop_too_big"`
	// TxDropLinkDown counts frames dropped because carrier was down.
	TxDropLinkDown uint64 `json:"tx_drop_link_down"`
	// TxDropClosed counts frames dropped because the endpoint was closed.
	TxDropClosed uint64 `json:"tx_drop_closed"`

	// LinkUp and LinkDown count carrier transitions read from the driver.
	LinkUp   uint64 `json:"link_up"`
	LinkDown uint64 `json:"link_down"`
	// Carrier is the current carrier state.
	Carrier bool `json:"carrier"`
}

// TxDrops is the number of frames netif dropped on transmit, all reasons.
func (c Counters) TxDrops() uint64 {
	return c.TxDropTooBig + c.TxDropLinkDown + c.TxDropClosed
}

// Counters returns a snapshot of the endpoint's statistics.
func (e *Endpoint) Counters() Counters {
	return Counters{
		RxFrames:        e.c.rxFrames.Load(),
		RxBytes:         e.c.rxBytes.Load(),
		RxCsumOK:        e.c.rxCsumOK.Load(),
		RxRunt:          e.c.rxRunt.Load(),
		RxDetached:      e.c.rxDetached.Load(),
		RxGROIn:         e.c.rxGROIn.Load(),
		RxGROOut:        e.c.rxGROOut.Load(),
		RxVerified:      e.c.rxVerified.Load(),
		RxACKsCoalesced: e.c.rxACKsCoalesced.Load(),
		RxCoalescedIn:   e.c.rxCoalescedIn.Load(),
		RxCoalescedOut:  e.c.rxCoalescedOut.Load(),

		RxCoalesceFlushBatchEnd: e.c.rxCoalesceFlush[flushBatchEnd].Load(),
		RxCoalesceFlushPush:     e.c.rxCoalesceFlush[flushPush].Load(),
		RxCoalesceFlushMismatch: e.c.rxCoalesceFlush[flushMismatch].Load(),
		RxCoalesceFlushFull:     e.c.rxCoalesceFlush[flushFull].Load(),
		RxCoalesceFlushEvict:    e.c.rxCoalesceFlush[flushEvict].Load(),
		RxCoalesceFlushOther:    e.c.rxCoalesceFlush[flushOther].Load(),
		TxTSO:                   e.c.txTSO.Load(),
		TxCsumOffload:           e.c.txCsumOffload.Load(),
		TxSoftGSO:               e.c.txSoftGSO.Load(),
		TxSoftSegments:          e.c.txSoftSegments.Load(),
		TxFrames:                e.c.txFrames.Load(),
		TxBytes:                 e.c.txBytes.Load(),
		TxBackpressure:          e.c.txBackpressure.Load(),
		TxReady:                 e.c.txReady.Load(),
		TxDropTooBig:            e.c.txDropTooBig.Load(),
		TxDropLinkDown:          e.c.txDropLinkDown.Load(),
		TxDropClosed:            e.c.txDropClosed.Load(),
		LinkUp:                  e.c.linkUp.Load(),
		LinkDown:                e.c.linkDown.Load(),
		Carrier:                 e.carrier.Load(),
	}
}
