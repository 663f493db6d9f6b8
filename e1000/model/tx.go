package model

import "encoding/binary"

// txFault is why a packet being gathered will not be sent.
type txFault uint8

const (
	txOK txFault = iota
	txUnsupported
	txOversize
	txDMA
)

// txPacket is the packet being gathered from descriptors up to EOP. It
// persists across TDT writes, as a packet may be queued piecemeal.
type txPacket struct {
	buf     []byte // capacity MaxTxPacket, allocated once
	css     uint8  // from the first descriptor (3.3.3)
	started bool
	fault   txFault
}

func (p *txPacket) clear() {
	p.buf = p.buf[:0]
	p.css, p.started, p.fault = 0, false, txOK
}

func (p *txPacket) fail(f txFault) {
	if p.fault == txOK {
		p.fault = f
	}
}

// txProcess consumes the descriptors from TDH up to TDT while TCTL.EN is
// set, as QEMU does, synchronously inside the TDT write. Descriptors are
// legacy ones (3.3.3); a DEXT descriptor is counted as unsupported and
// spoils the packet it belongs to. Every consumed descriptor with RS set
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
		addr := binary.LittleEndian.Uint64(d[TXD_ADDR:])
		length := int(binary.LittleEndian.Uint16(d[TXD_LENGTH:]))
		cmd := d[TXD_CMD]
		m.st.TxDescriptors++
		consumed++
		m.tdh = uint32((int(m.tdh) + 1) % n)

		if cmd&TXD_CMD_DEXT != 0 && !isExtendedData(d) {
			// A context descriptor stands alone: count it, skip it.
			m.st.TxUnsupported++
			m.txWriteBack(d, cmd)
			continue
		}
		p := &m.txPkt
		if !p.started {
			p.started, p.css = true, d[TXD_CSS]
		}
		switch {
		case cmd&TXD_CMD_DEXT != 0:
			p.fail(txUnsupported)
		case addr == 0 || length == 0:
			// A null descriptor transfers no data (3.3.3).
		case len(p.buf)+length > MaxTxPacket:
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
	if consumed > 0 {
		m.setCause(ICR_TXQE) // the ring is empty: TDH met TDT
	}
}

// isExtendedData reports whether a DEXT descriptor is a TCP/IP data
// descriptor (DTYP = 0001b, 3.3.7), which is part of a packet, as opposed
// to a context descriptor.
func isExtendedData(d []byte) bool { return d[TXD_CSO]>>4 == 1 }

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

// txFinish completes the packet at its EOP descriptor: inserts the legacy
// checksum, pads, and puts it on the wire, or counts why not.
func (m *Model) txFinish(cso, cmd uint8) {
	p := &m.txPkt
	defer p.clear()
	switch p.fault {
	case txUnsupported:
		m.st.TxUnsupported++
		m.st.TxDropped++
		return
	case txOversize:
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
	if cmd&TXD_CMD_IC != 0 {
		insertChecksum(p.buf, int(p.css), int(cso), &m.st)
	}
	if m.tctl&TCTL_PSP != 0 && len(p.buf) < minFrameData {
		var zeros [minFrameData]byte
		p.buf = append(p.buf, zeros[:minFrameData-len(p.buf)]...)
	}
	if !m.linkUp() {
		m.st.TxLinkDown++
		m.st.TxDropped++
		return
	}
	wire := len(p.buf)
	if cmd&TXD_CMD_IFCS != 0 {
		wire += crcLen // the MAC appends the FCS on the wire
	}
	if len(p.buf) >= 6 {
		m.countTx(p.buf[:6], wire)
	}
	var f []byte
	if k := len(m.txFree); k > 0 {
		f, m.txFree = m.txFree[k-1], m.txFree[:k-1]
	}
	m.txQueue = append(m.txQueue, append(f, p.buf...))
	m.st.TxFrames++
	m.st.TxBytes += uint64(len(p.buf))
}

// insertChecksum performs the legacy IC operation (3.3.3): the one's
// complement of the one's complement sum from CSS to the end of the packet
// is stored big-endian at CSO. It is skipped, and counted, when
// CSS >= length or CSO >= length-1.
func insertChecksum(b []byte, css, cso int, st *ModelStats) {
	if css >= len(b) || cso >= len(b)-1 {
		st.TxChecksumSkips++
		return
	}
	binary.BigEndian.PutUint16(b[cso:], ^fold(sum16(0, b[css:])))
}

// deliverTx hands queued frames to the transmit handler in order, without
// the lock. Only one goroutine delivers at a time (m.txDelivering), so
// frames queued by a re-entrant or concurrent TDT write are sent by the
// running delivery, after the ones before them.
func (m *Model) deliverTx() {
	m.mu.Lock()
	for len(m.txQueue) > 0 {
		f := m.txQueue[0]
		copy(m.txQueue, m.txQueue[1:])
		m.txQueue[len(m.txQueue)-1] = nil
		m.txQueue = m.txQueue[:len(m.txQueue)-1]
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
