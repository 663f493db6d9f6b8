package virtionet

import (
	"encoding/binary"
	"errors"
	"fmt"

	"tamanet/inet"
	"tamanet/lattrace"
	"tamanet/virtio"
)

// RxStats counts the receive path. Every used buffer the driver takes
// back is in Buffers (BadUsedID entries name no buffer of ours and are
// not). Every packet made of them ends in exactly one of Packets,
// DropShort, DropBadHeader, DropBadNumBuffers, DropBadLength,
// DropZeroLength, DropRunt, DropOversize or DropNoHandler; DropReset
// counts the buffers a device reset took back unread.
type RxStats struct {
	// Buffers counts used receive buffers taken back.
	Buffers uint64 `json:"buffers"`
	// Packets and Bytes count frames handed to the stack.
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// Merged counts packets put together from several buffers
	// (MRG_RXBUF); GSO those the device left unsegmented (GUEST_TSO).
	Merged uint64 `json:"merged"`
	GSO    uint64 `json:"gso"`
	// ChecksumOffloaded counts frames handed up as verified (csumOK):
	// the device set DATA_VALID or NEEDS_CSUM and the IPv4 header, if
	// any, checked out. ChecksumPartial counts the NEEDS_CSUM ones.
	ChecksumOffloaded uint64 `json:"checksum_offloaded"`
	ChecksumPartial   uint64 `json:"checksum_partial"`
	// ChecksumBadIPv4 counts frames marked verified whose IPv4 header
	// checksum was wrong: handed up unverified.
	ChecksumBadIPv4 uint64 `json:"checksum_bad_ipv4"`

	// DropShort counts buffers too short to hold the virtio-net header.
	DropShort uint64 `json:"drop_short"`
	// DropBadHeader counts packets whose header asks for what was not
	// negotiated or points outside the frame (GSO type, checksum start).
	DropBadHeader uint64 `json:"drop_bad_header"`
	// DropBadNumBuffers counts packets whose num_buffers is 0, more than
	// the buffers posted, or whose parts overflow the largest packet.
	DropBadNumBuffers uint64 `json:"drop_bad_num_buffers"`
	// DropBadLength counts buffers the device said it wrote past their
	// end (the used entry's len).
	DropBadLength uint64 `json:"drop_bad_length"`
	// DropZeroLength, DropRunt and DropOversize count frames with no
	// bytes, shorter than an Ethernet header, and longer than the MTU
	// allows without GSO.
	DropZeroLength uint64 `json:"drop_zero_length"`
	DropRunt       uint64 `json:"drop_runt"`
	DropOversize   uint64 `json:"drop_oversize"`
	// DropNoHandler counts good frames that arrived before Attach.
	DropNoHandler uint64 `json:"drop_no_handler"`
	// DropReset counts used buffers (whole packets, or parts of one)
	// discarded by a device reset.
	DropReset uint64 `json:"drop_reset"`
	// BadUsedID counts used entries naming no buffer in flight.
	BadUsedID uint64 `json:"bad_used_id"`
	// Refills counts receive notifications sent (after buffers were
	// posted); RefillsSuppressed those the device did not want.
	Refills           uint64 `json:"refills"`
	RefillsSuppressed uint64 `json:"refills_suppressed"`
}

// rxBuffers are the receive buffers: count of size bytes each, one chain
// (one descriptor, or two when the header goes apart) per buffer.
type rxBuffers struct {
	mem   []byte
	bus   uint64
	size  int
	count int
	// of maps a posted chain's head to its buffer.
	of []int32
	// mergeBuf holds a packet that spans buffers while it is put
	// together.
	mergeBuf []byte
	// maxFrame is the longest frame without GSO; maxPacket with.
	maxFrame int
}

// rxMerge is a packet in progress over several buffers.
type rxMerge struct {
	want, got int // buffers the header announced and taken so far
	n         int // bytes in mergeBuf
	hdr       Header
	bad       bool // an overflow: drop when complete
}

// allocRx sizes and allocates the receive buffers (5.1.6.3.1): pages with
// MRG_RXBUF; else with GUEST_TSO a few buffers that hold a 64 KiB packet;
// else buffers for one MTU-sized frame.
func (d *Device) allocRx(dma virtio.DMA) error {
	f := d.features
	b := &d.rxb
	perChain := 1
	if d.split {
		perChain = 2
	}
	b.maxFrame = ethHeaderLen + vlanTagLen + d.mtu
	b.count = d.rxq.Size() / perChain
	switch {
	case f.Has(VIRTIO_NET_F_MRG_RXBUF):
		b.size = pageSize
		b.mergeBuf = make([]byte, maxPacket)
	case d.guestGSO():
		b.size = alignUp(d.hdrLen+maxPacket, 16)
		b.count = min(b.count, d.cfg.BigBuffers)
	default:
		b.size = alignUp(d.hdrLen+b.maxFrame, 16)
	}
	var err error
	b.mem, b.bus, err = dma.Alloc(b.size*b.count, 16)
	if err != nil || len(b.mem) < b.size*b.count {
		return fmt.Errorf("%w: %d receive buffers of %d bytes: %w", ErrDMA, b.count, b.size, errors.Join(virtio.ErrDMA, err))
	}
	b.of = make([]int32, d.rxq.Size())
	return nil
}

// guestGSO reports that the device may send large packets.
func (d *Device) guestGSO() bool {
	return d.features.Has(VIRTIO_NET_F_GUEST_TSO4) || d.features.Has(VIRTIO_NET_F_GUEST_TSO6)
}

func alignUp(v, a int) int { return (v + a - 1) &^ (a - 1) }

// rxFill posts every receive buffer not with the device, which after New
// or a reset is all of them. Called with rxMu held (or before the device
// is shared); the caller kicks.
func (d *Device) rxFill() {
	for i := range d.rxb.count {
		d.rxPost(i)
	}
}

// rxPost gives buffer i to the device.
func (d *Device) rxPost(i int) {
	b := &d.rxb
	addr := b.bus + uint64(i*b.size)
	var head uint16
	var err error
	if d.split {
		head, err = d.rxq.Add(virtio.Buffer{Addr: addr, Len: uint32(d.hdrLen), Write: true},
			virtio.Buffer{Addr: addr + uint64(d.hdrLen), Len: uint32(b.size - d.hdrLen), Write: true})
	} else {
		head, err = d.rxq.Add(virtio.Buffer{Addr: addr, Len: uint32(b.size), Write: true})
	}
	if err != nil {
		// Cannot happen: one chain per buffer fits the queue.
		panic("virtio-net: receive queue full: " + err.Error())
	}
	b.of[head] = int32(i)
}

// rxBuf is buffer i's first n bytes.
func (d *Device) rxBuf(i int32, n int) []byte {
	off := int(i) * d.rxb.size
	return d.rxb.mem[off : off+n : off+n]
}

// rxClean takes up to budget packets from the used ring, hands good
// frames to the stack, posts every buffer again and notifies the device
// once. It returns the packets taken.
func (d *Device) rxClean(budget int) int {
	d.rxMu.Lock()
	defer d.rxMu.Unlock()
	deliver := d.up.Funcs().RX
	done, delivered, reposted := 0, 0, 0
	for done < budget {
		u, ok := d.rxq.Get()
		if !ok {
			break
		}
		if errors.Is(u.Err, virtio.ErrUsedID) {
			d.rx.BadUsedID++
			continue
		}
		d.rx.Buffers++
		i := d.rxb.of[u.Head]
		packet, ok := d.rxTake(i, u)
		if ok {
			done++
			if packet != nil {
				if d.rxDeliver(packet, deliver) {
					delivered++
				}
			}
		}
		d.rxPost(int(i))
		reposted++
	}
	if reposted > 0 {
		d.rxKick()
	}
	if f := d.up.BatchEnd(); f != nil && delivered > 0 {
		f()
	}
	return done
}

// rxKick tells the device about reposted buffers, if it wants to hear.
func (d *Device) rxKick() {
	if d.rxq.Kick() {
		d.rx.Refills++
	} else {
		d.rx.RefillsSuppressed++
	}
}

// rxPacket is a received packet ready for the stack: its header and
// frame.
type rxPacket struct {
	hdr   Header
	frame []byte
}

// rxTake adds used buffer i to the packet in progress. It reports ok when
// a packet is finished (delivered or dropped and counted), with the
// packet if it is to be delivered. The buffer goes back to the device
// after delivery.
func (d *Device) rxTake(i int32, u virtio.Used) (*rxPacket, bool) {
	m := &d.merging
	if u.Err != nil { // ErrUsedLen: the length is a lie
		d.rx.DropBadLength++
		if m.want > 0 {
			m.bad = true
			return d.rxMergeStep()
		}
		return nil, true
	}
	n := int(u.Len)
	if m.want > 0 {
		// A continuation buffer: data only (5.1.6.4).
		if part := d.rxBuf(i, n); m.n+n <= len(d.rxb.mergeBuf) {
			copy(d.rxb.mergeBuf[m.n:], part)
			m.n += n
		} else {
			m.bad = true
		}
		return d.rxMergeStep()
	}
	if n < d.hdrLen {
		d.rx.DropShort++
		return nil, true
	}
	buf := d.rxBuf(i, n)
	h := ParseHeader(buf, d.hdrLen)
	if !d.features.Has(VIRTIO_NET_F_MRG_RXBUF) {
		h.NumBuffers = 1
	}
	switch {
	case h.NumBuffers == 0 || int(h.NumBuffers) > d.rxb.count:
		d.rx.DropBadNumBuffers++
		return nil, true
	case h.NumBuffers == 1:
		d.rxPkt = rxPacket{hdr: h, frame: buf[d.hdrLen:]}
		return &d.rxPkt, true
	}
	*m = rxMerge{want: int(h.NumBuffers), got: 1, hdr: h}
	m.n = copy(d.rxb.mergeBuf, buf[d.hdrLen:])
	return nil, false
}

// rxMergeStep counts one more buffer of the packet in progress and
// finishes it when it has them all.
func (d *Device) rxMergeStep() (*rxPacket, bool) {
	m := &d.merging
	m.got++
	if m.got < m.want {
		return nil, false
	}
	defer func() { *m = rxMerge{} }()
	if m.bad {
		d.rx.DropBadNumBuffers++
		return nil, true
	}
	d.rx.Merged++
	d.rxPkt = rxPacket{hdr: m.hdr, frame: d.rxb.mergeBuf[:m.n:m.n]}
	return &d.rxPkt, true
}

// rxDeliver checks a packet's header against what was negotiated and the
// frame's length, and hands the frame to the stack. It reports whether
// the frame went up.
func (d *Device) rxDeliver(p *rxPacket, deliver func([]byte, bool)) bool {
	s := &d.rx
	h, frame := &p.hdr, p.frame
	gso := h.GSOType &^ VIRTIO_NET_HDR_GSO_ECN
	switch {
	case len(frame) == 0:
		s.DropZeroLength++
		return false
	case len(frame) < ethHeaderLen:
		s.DropRunt++
		return false
	case !d.rxHeaderOK(h, gso, len(frame)):
		s.DropBadHeader++
		return false
	case gso == VIRTIO_NET_HDR_GSO_NONE && len(frame) > d.rxb.maxFrame:
		s.DropOversize++
		return false
	case deliver == nil:
		s.DropNoHandler++
		return false
	}
	if gso != VIRTIO_NET_HDR_GSO_NONE {
		s.GSO++
	}
	csumOK := false
	if d.features.Has(VIRTIO_NET_F_GUEST_CSUM) && h.Flags&(VIRTIO_NET_HDR_F_DATA_VALID|VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 {
		// The device vouches for the TCP/UDP checksum (DATA_VALID), or
		// the packet comes from the host with it left partial, which
		// Linux also takes as verified (CHECKSUM_PARTIAL). netif's
		// csumOK covers the IPv4 header too, which neither flag does:
		// it is 20 bytes to check here.
		if ipv4HeaderOK(frame) {
			csumOK = true
			s.ChecksumOffloaded++
			if h.Flags&VIRTIO_NET_HDR_F_NEEDS_CSUM != 0 {
				s.ChecksumPartial++
			}
		} else {
			s.ChecksumBadIPv4++
		}
	}
	lattrace.Record(lattrace.KindRx, uint32(len(frame)))
	deliver(frame, csumOK)
	s.Packets++
	s.Bytes += uint64(len(frame))
	return true
}

// rxHeaderOK checks the offload fields of a received header (5.1.6.4.2):
// GSO only of a negotiated kind, a partial checksum only with GUEST_CSUM
// and inside the frame.
func (d *Device) rxHeaderOK(h *Header, gso uint8, n int) bool {
	f := d.features
	switch gso {
	case VIRTIO_NET_HDR_GSO_NONE:
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if !f.Has(VIRTIO_NET_F_GUEST_TSO4) {
			return false
		}
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if !f.Has(VIRTIO_NET_F_GUEST_TSO6) {
			return false
		}
	default:
		return false
	}
	if gso != VIRTIO_NET_HDR_GSO_NONE && n > maxPacket {
		return false
	}
	if h.Flags&VIRTIO_NET_HDR_F_NEEDS_CSUM != 0 {
		if !f.Has(VIRTIO_NET_F_GUEST_CSUM) || int(h.CsumStart)+int(h.CsumOffset)+2 > n || int(h.CsumStart) < ethHeaderLen {
			return false
		}
	}
	return true
}

// ipv4HeaderOK reports that frame is not IPv4 over Ethernet, or that its
// IPv4 header is whole and its checksum right. Only IPv4 and IPv6 count:
// anything else (a VLAN tag, ARP) gets no verdict.
func ipv4HeaderOK(frame []byte) bool {
	switch binary.BigEndian.Uint16(frame[12:]) {
	case 0x86DD:
		return true
	case 0x0800:
	default:
		return false
	}
	ip := frame[ethHeaderLen:]
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return false
	}
	ihl := int(ip[0]&0xF) * 4
	if ihl < 20 || ihl > len(ip) {
		return false
	}
	return inet.Fold(inet.Sum(0, ip[:ihl])) == 0xFFFF
}

// rxDropPending takes every used buffer back without delivering it, for
// a reset, and counts the packets lost. Called with rxMu held once the
// device is reset and writes no more.
func (d *Device) rxDropPending() {
	for {
		u, ok := d.rxq.Get()
		if !ok {
			break
		}
		if errors.Is(u.Err, virtio.ErrUsedID) {
			d.rx.BadUsedID++
			continue
		}
		d.rx.Buffers++
		d.rx.DropReset++
	}
	d.merging = rxMerge{}
	d.rxq.Detach(nil)
}
