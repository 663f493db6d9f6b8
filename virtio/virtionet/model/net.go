package model

import (
	"encoding/binary"
	"errors"
)

// struct virtio_net_hdr (5.1.6).
const (
	HdrFNeedsCsum = 1
	HdrFDataValid = 2

	GSONone  = 0
	GSOTCPv4 = 1
	GSOUDP   = 3
	GSOTCPv6 = 4
	GSOECN   = 0x80
)

// Header is a virtio_net_hdr.
type Header struct {
	Flags, GSOType                            uint8
	HdrLen, GSOSize, CsumStart, CsumOffset, N uint16 // N: num_buffers
}

func parseHeader(b []byte, n int) Header {
	h := Header{Flags: b[0], GSOType: b[1],
		HdrLen: le16(b[2:]), GSOSize: le16(b[4:]), CsumStart: le16(b[6:]), CsumOffset: le16(b[8:])}
	if n >= 12 {
		h.N = le16(b[10:])
	}
	return h
}

func (h *Header) put(b []byte, n int) {
	b[0], b[1] = h.Flags, h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
	if n >= 12 {
		binary.LittleEndian.PutUint16(b[10:], h.N)
	}
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

var (
	errBadQueue  = errors.New("virtio-net model: bad queue setup")
	errNotReady  = errors.New("virtio-net model: driver not ready or link down")
	errNoBuffers = errors.New("virtio-net model: no receive buffers")
	errTooBig    = errors.New("virtio-net model: frame bigger than the receive buffers")
)

// txFrame is a frame the driver sent, for delivery after unlocking.
type txFrame struct {
	frame []byte
	hdr   Header
}

const ethHeaderLen = 14

// serveTx takes every available transmit chain, checks it and returns the
// frames, and the interrupt to raise. Called with the lock held.
func (m *Model) serveTx() ([]txFrame, uint16) {
	q := &m.q[txQ]
	if !m.usable(txQ) {
		return nil, noIRQ
	}
	if q.pending() > int(q.size) {
		m.st.BadAvailIdx++
		m.failLocked()
		return nil, noIRQ
	}
	var out []txFrame
	hl := m.hdrLen()
	for q.pending() > 0 {
		head := q.take()
		var ce chainError
		m.chain, ce = q.walk(head, m.chain)
		if ce != chainOK {
			m.st.BadDescriptor++
			m.failLocked()
			return out, noIRQ
		}
		var data []byte
		ok := true
		for _, d := range m.chain {
			if d.write {
				m.st.BadDescriptor++
				ok = false
				break
			}
			b, in := m.cfg.Memory.Bytes(d.addr, int(d.len))
			if !in {
				m.st.BadAddress++
				ok = false
				break
			}
			data = append(data, b...)
		}
		q.push(uint32(head), 0)
		if !ok {
			continue
		}
		if len(data) < hl {
			m.st.BadTxHeader++
			continue
		}
		h := parseHeader(data, hl)
		frame := data[hl:]
		if !m.txHeaderOK(&h, len(frame)) {
			m.st.BadTxHeader++
			continue
		}
		if len(frame) < ethHeaderLen || (h.GSOType == GSONone && m.cfg.MTU != 0 && len(frame) > ethHeaderLen+4+int(m.cfg.MTU)) {
			m.st.BadTxFrame++
			continue
		}
		m.st.TxFrames++
		m.st.TxBytes += uint64(len(frame))
		if h.GSOType != GSONone {
			m.st.TxGSO++
		} else if h.Flags&HdrFNeedsCsum != 0 {
			m.st.TxCsum++
		}
		out = append(out, txFrame{frame: frame, hdr: h})
	}
	q.publish()
	if m.features&F_RING_EVENT_IDX != 0 {
		q.setAvailEvent()
	}
	return out, m.queueInterrupt(txQ)
}

// txHeaderOK checks a transmit header against the negotiated features
// (5.1.6.2.1).
func (m *Model) txHeaderOK(h *Header, n int) bool {
	f := m.features
	if h.N != 0 || h.Flags&^HdrFNeedsCsum != 0 {
		return false
	}
	if h.Flags&HdrFNeedsCsum != 0 && (f&F_CSUM == 0 || int(h.CsumStart)+int(h.CsumOffset)+2 > n) {
		return false
	}
	switch h.GSOType {
	case GSONone:
		return true
	case GSOTCPv4:
		if f&F_HOST_TSO4 == 0 {
			return false
		}
	case GSOTCPv6:
		if f&F_HOST_TSO6 == 0 {
			return false
		}
	default:
		return false
	}
	return h.Flags&HdrFNeedsCsum != 0 && h.GSOSize > 0 && int(h.HdrLen) < n
}

// failLocked sets DEVICE_NEEDS_RESET after a driver error the device
// cannot get past (2.1.2).
func (m *Model) failLocked() { m.status |= sNeedsReset }

// Receive gives the device a frame from the outside, with the offloads
// h asks for still to do (as a tap's vnet header does). What the driver
// did not negotiate is done here first: GSO segmented, a partial checksum
// completed. Each resulting frame goes into the receive buffers; a frame
// with no room is dropped and counted, as on a wire.
func (m *Model) Receive(frame []byte, h Header) error {
	m.mu.Lock()
	var err error
	var irq uint16 = noIRQ
	switch {
	case m.status&sDriverOK == 0 || !m.q[rxQ].ready:
		m.st.RxNotReady++
		err = errNotReady
	case !m.linkUp:
		m.st.RxLinkDown++
		err = errNotReady
	default:
		for _, f := range m.forDriver(frame, h) {
			if e := m.rxPut(f.frame, f.hdr); e != nil {
				err = e
			}
		}
		irq = m.queueInterrupt(rxQ)
	}
	m.mu.Unlock()
	m.afterUnlock(irq)
	return err
}

// forDriver turns a frame with offload requests into what the driver
// negotiated to receive.
func (m *Model) forDriver(frame []byte, h Header) []txFrame {
	f := m.features
	gsoOK := h.GSOType == GSONone ||
		h.GSOType&^GSOECN == GSOTCPv4 && f&F_GUEST_TSO4 != 0 ||
		h.GSOType&^GSOECN == GSOTCPv6 && f&F_GUEST_TSO6 != 0
	if !gsoOK {
		m.st.RxSegmented++
		var out []txFrame
		for _, s := range WireFrames(frame, h) {
			out = append(out, txFrame{frame: s})
		}
		return out
	}
	if h.Flags&HdrFNeedsCsum != 0 && f&F_GUEST_CSUM == 0 {
		m.st.RxCsumDone++
		return []txFrame{{frame: WireFrames(frame, h)[0]}}
	}
	if f&F_GUEST_CSUM == 0 {
		h.Flags = 0
	}
	return []txFrame{{frame: frame, hdr: h}}
}

// rxPut writes one frame behind its header into the next receive chain,
// or with MRG_RXBUF into as many as it takes (num_buffers). Called with
// the lock held.
func (m *Model) rxPut(frame []byte, h Header) error {
	q := &m.q[rxQ]
	hl := m.hdrLen()
	mrg := m.features&F_MRG_RXBUF != 0
	data := make([]byte, hl+len(frame))
	copy(data[hl:], frame)
	if q.pending() > int(q.size) {
		m.st.BadAvailIdx++
		m.failLocked()
		return errNoBuffers
	}
	type part struct {
		head uint16
		n    int
	}
	var parts []part
	start := q.lastAvail
	rest := data
	for len(rest) > 0 {
		if q.pending() == 0 || (!mrg && len(parts) > 0) {
			break
		}
		head := q.take()
		var ce chainError
		m.chain, ce = q.walk(head, m.chain)
		if ce != chainOK {
			m.st.BadDescriptor++
			m.failLocked()
			return errNoBuffers
		}
		n := 0
		for _, d := range m.chain {
			if !d.write {
				m.st.BadDescriptor++
				m.failLocked()
				return errNoBuffers
			}
			b, in := m.cfg.Memory.Bytes(d.addr, int(d.len))
			if !in {
				m.st.BadAddress++
				m.failLocked()
				return errNoBuffers
			}
			k := copy(b, rest)
			rest = rest[k:]
			n += k
		}
		parts = append(parts, part{head, n})
	}
	if len(rest) > 0 {
		// Not enough room: give the buffers back untouched.
		ranOut := q.pending() == 0
		q.lastAvail = start
		if len(parts) == 0 || mrg && ranOut {
			m.st.RxNoBuffers++
			return errNoBuffers
		}
		m.st.RxTooBig++
		return errTooBig
	}
	h.N = uint16(len(parts))
	if !mrg {
		h.N = 0
		if hl == 12 {
			h.N = 1 // VERSION_1 without MRG_RXBUF: num_buffers is 1 (5.1.6.4)
		}
	}
	if b, ok := m.firstBuffer(parts[0].head); ok {
		h.put(b, hl)
	}
	for _, p := range parts {
		q.push(uint32(p.head), uint32(p.n))
	}
	q.publish()
	if m.features&F_RING_EVENT_IDX != 0 {
		q.setAvailEvent()
	}
	if len(parts) > 1 {
		m.st.RxMerged++
	}
	m.st.RxFrames++
	m.st.RxBytes += uint64(len(frame))
	return nil
}

// firstBuffer is the memory of chain head's first descriptor (the header
// goes there, and never spans descriptors: drivers post at least 12 bytes
// first).
func (m *Model) firstBuffer(head uint16) ([]byte, bool) {
	ch, ce := m.q[rxQ].walk(head, m.chain)
	if ce != chainOK || len(ch) == 0 || ch[0].len < 10 {
		return nil, false
	}
	return m.cfg.Memory.Bytes(ch[0].addr, int(ch[0].len))
}

// ReceiveRaw puts data, header included and unchecked, into the next
// receive chain and reports it used with length usedLen, for tests of
// the driver's handling of bad headers and lengths. It reports false
// without a buffer.
func (m *Model) ReceiveRaw(data []byte, usedLen uint32) bool {
	m.mu.Lock()
	q := &m.q[rxQ]
	if !m.usable(rxQ) || q.pending() == 0 {
		m.mu.Unlock()
		return false
	}
	head := q.take()
	m.chain, _ = q.walk(head, m.chain)
	rest := data
	for _, d := range m.chain {
		if b, in := m.cfg.Memory.Bytes(d.addr, int(d.len)); in {
			rest = rest[copy(b, rest):]
		}
	}
	q.push(uint32(head), usedLen)
	q.publish()
	m.st.InjectedRaw++
	irq := m.queueInterrupt(rxQ)
	m.mu.Unlock()
	m.afterUnlock(irq)
	return true
}

// InjectUsed writes a used entry of the device's choosing (id, len) to
// queue q, as a buggy device would, and raises its interrupt.
func (m *Model) InjectUsed(q uint16, id, n uint32) {
	m.mu.Lock()
	if q > txQ || !m.q[q].ready {
		m.mu.Unlock()
		return
	}
	m.q[q].push(id, n)
	m.q[q].publish()
	m.st.InjectedUsed++
	irq := m.queueInterrupt(int(q))
	m.mu.Unlock()
	m.afterUnlock(irq)
}

// RxPosted is the number of receive chains the driver has made available
// and the device has not used.
func (m *Model) RxPosted() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.q[rxQ].ready {
		return 0
	}
	return m.q[rxQ].pending()
}
