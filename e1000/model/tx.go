package model

import (
	"encoding/binary"

	"tamanet/inet"
)

// txFault is why a packet being gathered will not be sent.
type txFault uint8

const (
	txOK txFault = iota
	txUnsupported
	txOversize
	txDMA
	txMixed
)

// txKind is the descriptor family a packet was started with.
type txKind uint8

const (
	txLegacy   txKind = iota // legacy descriptors (3.3.3)
	txExtended               // TCP/IP data descriptors (3.3.7)
)

// txPacket is the packet being gathered from descriptors up to EOP. It
// persists across TDT writes, as a packet may be queued piecemeal.
type txPacket struct {
	buf     []byte // capacity MaxTxPacket, grown once for larger TSO packets
	started bool
	kind    txKind
	css     uint8 // legacy: from the first descriptor (3.3.3)
	popts   uint8 // extended: from the first descriptor (3.3.7.1)
	tse     bool  // extended: the first data descriptor had DCMD.TSE
	ifcs    bool  // TSO: IFCS of the first data descriptor (3.3.7.1)
	fault   txFault
}

func (p *txPacket) clear() {
	p.buf = p.buf[:0]
	p.started, p.kind, p.css, p.popts, p.tse, p.ifcs, p.fault = false, txLegacy, 0, 0, false, false, txOK
}

func (p *txPacket) fail(f txFault) {
	if p.fault == txOK {
		p.fault = f
	}
}

// txContext is the one TCP/IP context of the 82540EM (3.3.6), loaded by a
// context descriptor and used by every TCP/IP data descriptor after it.
type txContext struct {
	ipcss, ipcso, tucss, tucso int
	ipcse, tucse               int // inclusive end; 0 = end of packet
	paylen, hdrlen, mss        int
	tcp, ipv4, tse             bool
}

func (c *txContext) load(d []byte) {
	*c = txContext{
		ipcss:  int(d[TXD_CTX_IPCSS]),
		ipcso:  int(d[TXD_CTX_IPCSO]),
		ipcse:  int(binary.LittleEndian.Uint16(d[TXD_CTX_IPCSE:])),
		tucss:  int(d[TXD_CTX_TUCSS]),
		tucso:  int(d[TXD_CTX_TUCSO]),
		tucse:  int(binary.LittleEndian.Uint16(d[TXD_CTX_TUCSE:])),
		paylen: int(binary.LittleEndian.Uint32(d[TXD_CTX_PAYLEN:]) & TXD_LEN20_MASK),
		hdrlen: int(d[TXD_CTX_HDRLEN]),
		mss:    int(binary.LittleEndian.Uint16(d[TXD_CTX_MSS:])),
		tcp:    d[TXD_CTX_TUCMD]&TXD_TUCMD_TCP != 0,
		ipv4:   d[TXD_CTX_TUCMD]&TXD_TUCMD_IP != 0,
		tse:    d[TXD_CTX_TUCMD]&TXD_TUCMD_TSE != 0,
	}
}

// txProcess consumes the descriptors from TDH up to TDT while TCTL.EN is
// set, as QEMU does, synchronously inside the TDT write. It takes legacy
// descriptors (3.3.3), TCP/IP context descriptors (3.3.6) and TCP/IP data
// descriptors (3.3.7); other descriptor types are counted as unsupported
// and spoil the packet they belong to, as does mixing legacy and TCP/IP
// data descriptors in one packet. Every consumed descriptor with RS set
// gets DD written back, even in a spoiled packet, so the driver can always
// reclaim its ring.
func (m *Model) txProcess() {
	if m.tctl&TCTL_EN == 0 || m.tdlen == 0 {
		return
	}
	base := uint64(m.tdbah)<<32 | uint64(m.tdbal)
	n := int(m.tdlen / TxDescSize)
	ring, ok := m.arena.Bytes(base, int(m.tdlen))
	if !ok || int(m.tdh) >= n || int(m.tdt) >= n {
		m.st.RingErrors++
		return
	}
	consumed := 0
	for m.tdh != m.tdt {
		d := ring[int(m.tdh)*TxDescSize : int(m.tdh+1)*TxDescSize]
		m.st.TxDescriptors++
		consumed++
		m.tdh = uint32((int(m.tdh) + 1) % n)
		m.txDescriptor(d)
	}
	if consumed > 0 {
		m.setCause(ICR_TXQE) // the ring is empty: TDH met TDT
	}
}

// txDescriptor handles one transmit descriptor.
func (m *Model) txDescriptor(d []byte) {
	addr := binary.LittleEndian.Uint64(d[TXD_ADDR:])
	cmd := d[TXD_CMD]
	p := &m.txPkt
	length := int(binary.LittleEndian.Uint16(d[TXD_LENGTH:]))
	kind := txLegacy
	if cmd&TXD_CMD_DEXT != 0 {
		dw := binary.LittleEndian.Uint32(d[TXD_LENGTH:])
		switch (dw & TXD_DTYP_MASK) >> TXD_DTYP_SHIFT {
		case TXD_DTYP_CONTEXT:
			// A context descriptor stands alone and carries no data.
			m.txCtx.load(d)
			m.st.TxContexts++
			if p.started {
				p.fail(txMixed)
			}
			m.txWriteBack(d, cmd)
			return
		case TXD_DTYP_DATA:
			kind, length = txExtended, int(dw&TXD_LEN20_MASK)
		default:
			m.st.TxUnsupported++
			p.fail(txUnsupported)
		}
	}
	if !p.started {
		p.started, p.kind = true, kind
		p.css, p.popts = d[TXD_CSS], d[TXD_POPTS] // the same byte, read as either
		p.tse = kind == txExtended && cmd&TXD_DCMD_TSE != 0
		p.ifcs = cmd&TXD_CMD_IFCS != 0
		if p.tse && !m.txCtx.tse {
			p.fail(txMixed) // a TSE data descriptor without a TSE context
		}
	} else if p.kind != kind || (kind == txExtended && (cmd&TXD_DCMD_TSE != 0) != p.tse) {
		p.fail(txMixed)
	}
	limit := MaxTxPacket
	if p.tse {
		limit = m.txCtx.hdrlen + m.txCtx.paylen
	}
	switch {
	case addr == 0 || length == 0:
		// A null descriptor transfers no data (3.3.3).
	case len(p.buf)+length > limit:
		p.fail(txOversize)
	default:
		src, ok := m.arena.Bytes(addr, length)
		if !ok {
			p.fail(txDMA)
		} else if p.fault == txOK {
			p.buf = append(p.buf, src...)
		}
	}
	m.txWriteBack(d, cmd)
	if cmd&TXD_CMD_EOP != 0 {
		m.txFinish(d[TXD_CSO], cmd)
	}
}

// txWriteBack sets DD in a descriptor whose RS bit asks for status; the
// write-back itself is never delayed, only the TXDW interrupt (3.3.3.1
// note 4).
func (m *Model) txWriteBack(d []byte, cmd uint8) {
	if cmd&TXD_CMD_RS == 0 {
		return
	}
	w := statusBytes(d)
	w[TXD_STATUS-statusWord] = w[TXD_STATUS-statusWord]&^0x0F | TXD_STAT_DD
	publishStatus(d, w)
	m.txDescDone(cmd&TXD_CMD_IDE != 0)
}

// txFinish completes the packet at its EOP descriptor: inserts checksums or
// segments it, and puts the result on the wire, or counts why not.
func (m *Model) txFinish(cso, cmd uint8) {
	p := &m.txPkt
	defer p.clear()
	switch p.fault {
	case txUnsupported:
		m.st.TxDropped++
		return
	case txMixed:
		m.st.TxBadSequence++
		m.st.TxDropped++
		return
	case txOversize:
		if p.tse {
			m.txTSOFailed()
			return
		}
		m.st.TxOversize++
		m.st.TxDropped++
		return
	case txDMA:
		m.st.TxDMAErrors++
		m.st.TxDropped++
		return
	}
	if len(p.buf) == 0 {
		m.st.TxNullPackets++
		return
	}
	switch {
	case p.tse:
		m.txSegment(p.ifcs)
		return
	case p.kind == txLegacy && cmd&TXD_CMD_IC != 0:
		insertChecksum(p.buf, int(p.css), int(cso), len(p.buf)-1, 0, &m.st)
	case p.kind == txExtended:
		m.txInsertChecksums(p.buf, p.popts, 0)
	}
	m.txWire(p.buf, cmd&TXD_CMD_IFCS != 0)
}

// txInsertChecksums does what POPTS asks of a frame with the loaded context
// (3.3.7.1, 3.5.8): the TCP/UDP checksum from TUCSS to TUCSE at TUCSO, then
// the IP checksum from IPCSS to IPCSE at IPCSO, each summing the field
// itself. l4len, when nonzero, is added to the TCP/UDP sum: the segment's
// length for the pseudo-header during TCP segmentation (3.5.7).
func (m *Model) txInsertChecksums(f []byte, popts uint8, l4len int) {
	c := &m.txCtx
	if popts&TXD_POPTS_TXSM != 0 {
		insertChecksum(f, c.tucss, c.tucso, endOf(c.tucse, f), uint32(l4len), &m.st)
	}
	if popts&TXD_POPTS_IXSM != 0 {
		insertChecksum(f, c.ipcss, c.ipcso, endOf(c.ipcse, f), 0, &m.st)
	}
}

// endOf is the last byte a checksum covers: cse, or the packet's end when
// cse is 0 or beyond it.
func endOf(cse int, f []byte) int {
	if cse == 0 || cse >= len(f) {
		return len(f) - 1
	}
	return cse
}

// txSegment performs TCP segmentation (3.5) on the gathered packet: the
// first HDRLEN bytes are the prototype header, the rest PAYLEN bytes of
// payload cut into MSS-byte segments. Each segment gets a copy of the
// header with the fields of 3.5.9 updated, then the checksums POPTS asks
// for. A context the device cannot run (no MSS, a header longer than the
// on-chip buffer or the packet, MSS + HDRLEN too close to the FIFO size) or
// a payload that differs from PAYLEN ends the context, counted in TSCTFC.
func (m *Model) txSegment(ifcs bool) {
	p, c := &m.txPkt, &m.txCtx
	hdr := c.hdrlen
	ipLen, l4Len := 40, 8
	if c.ipv4 {
		ipLen = 20
	}
	if c.tcp {
		l4Len = 20
	}
	if c.mss == 0 || hdr > tsoHeaderMax || hdr > len(p.buf) ||
		c.mss+hdr > TxFIFOSize-tsoFIFOMargin || len(p.buf)-hdr != c.paylen ||
		c.ipcss+ipLen > hdr || c.tucss+l4Len > hdr {
		m.txTSOFailed()
		return
	}
	proto, payload := p.buf[:hdr], p.buf[hdr:]
	m.st.TxTSOContexts++
	m.statInc(TSCTC)
	for i, off := 0, 0; off < len(payload); i++ {
		n := min(c.mss, len(payload)-off)
		last := off+n == len(payload)
		seg := append(append(m.txSeg[:0], proto...), payload[off:off+n]...)
		m.txSeg = seg
		m.fixSegmentHeader(seg, i, off, last)
		m.txInsertChecksums(seg, p.popts, len(seg)-c.tucss)
		m.st.TxTSOSegments++
		m.txWire(seg, ifcs)
		off += n
	}
}

// fixSegmentHeader applies 3.5.9 to segment i, whose payload starts at
// payload offset off: IP length (and IPv4 identification), TCP sequence
// number and FIN/PSH (kept on the last segment only), or UDP length.
func (m *Model) fixSegmentHeader(seg []byte, i, off int, last bool) {
	c := &m.txCtx
	ip := seg[c.ipcss:]
	if c.ipv4 {
		binary.BigEndian.PutUint16(ip[2:], uint16(len(seg)-c.ipcss))
		binary.BigEndian.PutUint16(ip[4:], binary.BigEndian.Uint16(ip[4:])+uint16(i))
	} else {
		// The 8254x manual writes "MSS + HDRLEN - IPCSS"; IPv6's payload
		// length excludes its 40-byte fixed header, as the later 8257x
		// manuals say, and the model follows those.
		binary.BigEndian.PutUint16(ip[4:], uint16(len(seg)-c.ipcss-40))
	}
	l4 := seg[c.tucss:]
	if c.tcp {
		binary.BigEndian.PutUint32(l4[4:], binary.BigEndian.Uint32(l4[4:])+uint32(off))
		if !last {
			l4[13] &^= tcpFlagFIN | tcpFlagPSH
		}
	} else {
		binary.BigEndian.PutUint16(l4[4:], uint16(len(seg)-c.tucss))
	}
}

// txTSOFailed counts a TCP segmentation context that was not transmitted.
func (m *Model) txTSOFailed() {
	m.statInc(TSCTFC)
	m.st.TxTSOFailed++
	m.st.TxDropped++
}

// txWire pads a finished frame and puts it on the wire, or counts why not.
func (m *Model) txWire(f []byte, ifcs bool) {
	if m.tctl&TCTL_PSP != 0 && len(f) < minFrameData {
		var zeros [minFrameData]byte
		f = append(f, zeros[:minFrameData-len(f)]...)
	}
	if !m.linkUp() {
		m.st.TxLinkDown++
		m.st.TxDropped++
		return
	}
	wire := len(f)
	if ifcs {
		wire += crcLen // the MAC appends the FCS on the wire
	}
	if len(f) >= 6 {
		m.countTx(f[:6], wire)
	}
	var out []byte
	if k := len(m.txFree); k > 0 {
		out, m.txFree = m.txFree[k-1], m.txFree[:k-1]
	}
	m.txQueue = append(m.txQueue, append(out, f...))
	m.st.TxFrames++
	m.st.TxBytes += uint64(len(f))
}

// TCP flag bits in byte 13 of the TCP header.
const (
	tcpFlagFIN = 1 << 0
	tcpFlagPSH = 1 << 3
)

// insertChecksum stores, big-endian at cso, the one's complement of the one's
// complement sum of b[css:cse+1] plus extra (3.3.3, 3.5.8). It is skipped,
// and counted, when the range or the field lies outside the packet.
func insertChecksum(b []byte, css, cso, cse int, extra uint32, st *ModelStats) {
	if css > cse || cse >= len(b) || cso+1 >= len(b) {
		st.TxChecksumSkips++
		return
	}
	binary.BigEndian.PutUint16(b[cso:], ^inet.Fold(inet.Sum(extra, b[css:cse+1])))
	st.TxChecksums++
}

// deliverTx hands queued frames to the transmit handler in order, without
// the lock. Only one goroutine delivers at a time (m.txDelivering), so
// frames queued by a re-entrant or concurrent TDT write are sent by the
// running delivery, after the ones before them.
func (m *Model) deliverTx() {
	m.mu.Lock()
	for m.txHead < len(m.txQueue) {
		f := m.txQueue[m.txHead]
		m.txQueue[m.txHead] = nil
		if m.txHead++; m.txHead == len(m.txQueue) {
			m.txQueue, m.txHead = m.txQueue[:0], 0
		}
		h := m.txHandler
		m.mu.Unlock()
		if h != nil {
			h(f)
		}
		m.mu.Lock()
		m.txFree = append(m.txFree, f[:0])
	}
	m.txDelivering = false
	m.mu.Unlock()
}
