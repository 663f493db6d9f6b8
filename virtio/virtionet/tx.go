package virtionet

import (
	"errors"
	"fmt"
	"time"

	"tamanet/lattrace"
	"tamanet/txframe"
	"tamanet/virtio"
)

// TxStats counts the transmit path. Every frame passed to Transmit and
// counted in its result is in Queued or one Drop counter; every queued
// frame ends in Packets (completed) or DropReset.
type TxStats struct {
	// Queued counts frames placed in the queue.
	Queued uint64 `json:"queued"`
	// Packets and Bytes count frames the device reported done; Segments
	// the frames those became on the wire (one per MSS with TSO).
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
	Segments uint64 `json:"segments"`
	// Descriptors counts descriptors filled.
	Descriptors uint64 `json:"descriptors"`
	// TSO counts frames queued for segmentation; ChecksumOffload those
	// queued for checksum insertion only.
	TSO             uint64 `json:"tso"`
	ChecksumOffload uint64 `json:"checksum_offload"`
	// Drops: shorter than an Ethernet header; longer than the MTU allows
	// without TSO; an offload request the device was not offered or that
	// does not fit the frame; more descriptors than the queue has; the
	// link down; still queued when a reset discarded it.
	DropRunt        uint64 `json:"drop_runt"`
	DropOversize    uint64 `json:"drop_oversize"`
	DropBadOffload  uint64 `json:"drop_bad_offload"`
	DropExceedsRing uint64 `json:"drop_exceeds_ring"`
	DropNoCarrier   uint64 `json:"drop_no_carrier"`
	DropReset       uint64 `json:"drop_reset"`
	// DropMap counts frames dropped because the DMA mapper refused one
	// of their parts (memory the device cannot reach).
	DropMap uint64 `json:"drop_map"`
	// Holds counts consumed frames whose parts the stack held for the
	// driver (txframe.Frame.Hold); Releases the holds ended. They are
	// equal whenever no held frame is in the queue. InPlace counts the
	// frames the device read (partly) in place, DescriptorsInPlace their
	// descriptors pointing into the stack's memory.
	Holds              uint64 `json:"holds"`
	Releases           uint64 `json:"releases"`
	InPlace            uint64 `json:"in_place"`
	DescriptorsInPlace uint64 `json:"descriptors_in_place"`
	// RingFull counts Transmit calls that found the queue full and
	// stopped it; Wakes the txReady calls that restarted it.
	RingFull uint64 `json:"ring_full"`
	Wakes    uint64 `json:"wakes"`
	// Notifies counts transmit notifications (one per Transmit call at
	// most, when the device wants one); NotifiesSuppressed the kicks it
	// did not want.
	Notifies           uint64 `json:"notifies"`
	NotifiesSuppressed uint64 `json:"notifies_suppressed"`
	// BadUsedID counts used entries naming no chain in flight;
	// BadUsedLen completions claiming the device wrote into a chain it
	// may only read (counted, the frame still counts as sent).
	BadUsedID  uint64 `json:"bad_used_id"`
	BadUsedLen uint64 `json:"bad_used_len"`
}

// txSlot is what the driver remembers of a chain in flight, at its head.
type txSlot struct {
	segs  int32
	bytes int32
	piece int32            // its memory in txArena
	hold  txframe.Releaser // the frame's hold, while the device reads it in place
	nmaps int32
	maps  [maxTxChain]txMap // the chain's buffers in the stack's memory
}

// txWatch is the watchdog's view of transmit progress.
type txWatch struct {
	completed uint64
	since     time.Time
}

// allocTx allocates the transmit memory (Config.TxBufferBytes), which
// frames take in turn as a ring (txArena).
func (d *Device) allocTx(dma virtio.DMA) error {
	n := d.cfg.TxBufferBytes
	mem, bus, err := dma.Alloc(n, pageSize)
	if err != nil || len(mem) < n {
		return fmt.Errorf("%w: %d bytes of transmit buffers: %w", ErrDMA, n, errors.Join(virtio.ErrDMA, err))
	}
	d.txMem = newTxArena(mem[:n], bus, d.txq.Size())
	d.txSlots = make([]txSlot, d.txq.Size())
	d.mapper, _ = dma.(virtio.DMAMapper)
	return nil
}

// TxCapabilities reports the offloads Transmit accepts: checksums with
// VIRTIO_NET_F_CSUM, TSO with HOST_TSO4/6, and the largest TSO frame the
// queue takes at once.
func (d *Device) TxCapabilities() txframe.Capabilities {
	var c txframe.Capabilities
	f := d.features
	if f.Has(VIRTIO_NET_F_CSUM) {
		c.Features |= txframe.CsumTCPv4 | txframe.CsumTCPv6 | txframe.CsumUDPv4 | txframe.CsumUDPv6
	}
	if f.Has(VIRTIO_NET_F_HOST_TSO4) {
		c.Features |= txframe.TSOv4
	}
	if f.Has(VIRTIO_NET_F_HOST_TSO6) {
		c.Features |= txframe.TSOv6
	}
	if c.Features.Has(txframe.TSOv4) || c.Features.Has(txframe.TSOv6) {
		c.TSOMaxSize = d.tsoMaxFrame()
	}
	return c
}

// tsoMaxFrame is the largest frame one chain carries: a 64 KiB IP packet,
// or less if the transmit memory holds less.
func (d *Device) tsoMaxFrame() int {
	return min(ethHeaderLen+65535, alignDown(len(d.txMem.mem), txAlign)-d.hdrLen)
}

func alignDown(v, a int) int { return v &^ (a - 1) }

// maxFrame is the largest frame without TSO.
func (d *Device) maxFrame() int { return ethHeaderLen + vlanTagLen + d.mtu }

// txDescs is the number of descriptors a copied frame takes: one for
// header and frame, two when the header goes apart.
func (d *Device) txDescs() int {
	if d.split {
		return 2
	}
	return 1
}

// Transmit copies frames, in order, behind a virtio-net header into the
// transmit memory, one contiguous piece each (or, for frames the stack
// holds, only their headers and small parts, the rest read in place: see
// txref.go), and makes them available to the device, with one
// notification for the whole call if the device wants it. A frame may ask
// for checksum insertion or TCP segmentation within TxCapabilities. It
// returns how many frames it consumed: queued, or dropped and counted
// (malformed, an offload not negotiated, the link down). Fewer than
// len(frames) means the queue filled up; txReady is called once there is
// room again.
func (d *Device) Transmit(frames []txframe.Frame) int {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	carrier := d.carrier.Load()
	s := &d.tx
	consumed, queued := 0, 0
	for i := range frames {
		f := &frames[i]
		n := f.Len()
		h, segs, ok := d.txHeader(&f.Offload, n)
		lay := d.txLayout(f, n)
		need := d.hdrLen + lay.copied
		queuedBefore := queued
		switch {
		case n < ethHeaderLen:
			s.DropRunt++
		case !ok:
			s.DropBadOffload++
		case h.GSOType == VIRTIO_NET_HDR_GSO_NONE && n > d.maxFrame():
			s.DropOversize++
		case n > maxPacket || alignUp(need, txAlign) > len(d.txMem.mem):
			s.DropExceedsRing++
		case !carrier:
			s.DropNoCarrier++
		case !d.txRoom(need, lay.descs) && d.txMakeRoom(need, lay.descs, &queued):
			d.txKick(queued)
			return consumed
		case !d.txQueue(f, n, &h, segs, &lay):
			s.DropMap++
		default:
			queued++
		}
		if f.Hold != nil {
			s.Holds++
			if queued == queuedBefore || !lay.inPlace {
				txframe.Release(f.Hold, &d.tx.Releases) // dropped, or copied: nothing left to read
			}
		}
		consumed++
	}
	d.txKick(queued)
	return consumed
}

// txHeader builds the header for an offload request (5.1.6.2): a partial
// checksum from L4Start, and for TSO the GSO type, MSS and header length.
// It reports false for a request that was not negotiated or does not fit
// the frame.
func (d *Device) txHeader(o *txframe.Offload, n int) (h Header, segs int, ok bool) {
	h.NumBuffers = 0 // the driver sets it to 0 on transmit (5.1.6.2)
	if o.L4 == txframe.L4None {
		return h, 1, true
	}
	f := d.features
	csum := o.ChecksumOffset()
	l4 := int(o.L4Start)
	if !f.Has(VIRTIO_NET_F_CSUM) || csum < 0 || l4 < ethHeaderLen || csum+2 > n {
		return h, 0, false
	}
	h.Flags = VIRTIO_NET_HDR_F_NEEDS_CSUM
	h.CsumStart, h.CsumOffset = uint16(l4), uint16(csum-l4)
	if o.MSS == 0 {
		return h, 1, true
	}
	hdr, mss := int(o.HeaderLen), int(o.MSS)
	switch {
	case o.L4 != txframe.L4TCP || hdr < l4+20 || hdr >= n || n > ethHeaderLen+65535:
		return h, 0, false
	case o.IPv6 && f.Has(VIRTIO_NET_F_HOST_TSO6):
		h.GSOType = VIRTIO_NET_HDR_GSO_TCPV6
	case !o.IPv6 && f.Has(VIRTIO_NET_F_HOST_TSO4):
		h.GSOType = VIRTIO_NET_HDR_GSO_TCPV4
	default:
		return h, 0, false
	}
	h.HdrLen, h.GSOSize = uint16(hdr), uint16(mss)
	return h, (n - hdr + mss - 1) / mss, true
}

// txRoom reports room for a frame taking need bytes of transmit memory
// with its header, and descs descriptors.
func (d *Device) txRoom(need, descs int) bool {
	return d.txq.Free() >= descs && d.txMem.fits(need)
}

// txMakeRoom reclaims what the device has finished; if that is not room
// enough for need bytes, it first tells the device about this call's
// frames and reclaims again, then stops the queue and asks for an
// interrupt once most chains in flight are done (checking for
// completions that raced with the request). It reports whether the queue
// still lacks room. Called with txMu held.
func (d *Device) txMakeRoom(need, descs int, queued *int) bool {
	for {
		d.txReclaim()
		if d.txRoom(need, descs) {
			return false
		}
		if *queued > 0 {
			d.txKick(*queued)
			*queued = 0
			continue
		}
		if !d.txStopped {
			d.txStopped = true
			d.tx.RingFull++
		}
		if !d.txq.EnableInterruptsDelayed() {
			return true
		}
		d.txq.DisableInterrupts()
	}
}

// txKick publishes queued frames and notifies the device if it wants it.
// Called with txMu held.
func (d *Device) txKick(queued int) {
	if queued == 0 {
		return
	}
	d.tx.Queued += uint64(queued)
	if d.txq.Kick() {
		d.tx.Notifies++
		lattrace.Record(lattrace.KindTxDoorbell, uint32(queued))
	} else {
		d.tx.NotifiesSuppressed++
	}
}

// txClean reclaims finished chains and, if the queue was stopped and has
// room again, restarts it by calling txReady outside the lock.
func (d *Device) txClean() {
	if d.txCleanLocked() {
		d.up.TxReady()
	}
}

func (d *Device) txCleanLocked() (wake bool) {
	d.txMu.Lock()
	defer d.txMu.Unlock()
	d.txReclaim()
	// Room for the largest frame, as Linux's virtio_net wakes with room
	// for a maximal skb.
	wake = d.txStopped && d.txRoom(d.hdrLen+d.tsoMaxFrame(), d.txDescs())
	if wake {
		d.txStopped = false
		d.tx.Wakes++
		d.txq.DisableInterrupts()
	}
	return wake
}

// txReclaim takes back every chain the device has used. Called with txMu
// held.
func (d *Device) txReclaim() {
	for {
		u, ok := d.txq.Get()
		if !ok {
			return
		}
		switch {
		case errors.Is(u.Err, virtio.ErrUsedID):
			d.tx.BadUsedID++
			continue
		case u.Err != nil:
			d.tx.BadUsedLen++
		}
		p := d.txRetire(u.Head)
		d.tx.Packets++
		d.tx.Bytes += uint64(p.bytes)
		d.tx.Segments += uint64(p.segs)
	}
}

// txDropInFlight counts every chain still with the device as dropped by
// a reset and forgets them. Called with txMu held once the device is
// reset and txReclaim has taken what it finished.
func (d *Device) txDropInFlight() {
	d.txq.Detach(func(head uint16) {
		d.txRetire(head)
		d.tx.DropReset++
	})
	d.txMem.reset()
}
