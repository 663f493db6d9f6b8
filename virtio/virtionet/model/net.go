package model

import (
	"encoding/binary"
	"errors"

	vmodel "tamanet/virtio/model"
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
// frames, and whether to interrupt. Called inside UseRings.
func (m *Model) serveTx(r vmodel.Rings, f uint64) ([]txFrame, bool) {
	q := &m.q[txQ]
	q.bind(r)
	if q.pending() > int(q.size) {
		m.count(func(s *Stats) { s.BadAvailIdx++ })
		r.NeedsReset()
		return nil, false
	}
	var out []txFrame
	hl := hdrLen(f)
	for q.pending() > 0 {
		head := q.take()
		var ce chainError
		m.chain, ce = q.walk(head, m.chain)
		if ce != chainOK {
			m.count(func(s *Stats) { s.BadDescriptor++ })
			r.NeedsReset()
			return out, false
		}
		data, bad := m.gather(r)
		q.push(uint32(head), 0)
		if bad {
			continue
		}
		if len(data) < hl {
			m.count(func(s *Stats) { s.BadTxHeader++ })
			continue
		}
		h := parseHeader(data, hl)
		frame := data[hl:]
		if !txHeaderOK(&h, len(frame), f) {
			m.count(func(s *Stats) { s.BadTxHeader++ })
			continue
		}
		if len(frame) < ethHeaderLen || (h.GSOType == GSONone && m.cfg.MTU != 0 && len(frame) > ethHeaderLen+4+int(m.cfg.MTU)) {
			m.count(func(s *Stats) { s.BadTxFrame++ })
			continue
		}
		m.count(func(s *Stats) {
			s.TxFrames++
			s.TxBytes += uint64(len(frame))
			if h.GSOType != GSONone {
				s.TxGSO++
			} else if h.Flags&HdrFNeedsCsum != 0 {
				s.TxCsum++
			}
		})
		out = append(out, txFrame{frame: frame, hdr: h})
	}
	q.publish()
	if f&F_RING_EVENT_IDX != 0 {
		q.setAvailEvent()
	}
	return out, m.wantsInterrupt(txQ, f)
}

// gather copies the device-readable chain in m.chain; bad reports a
// device-writable descriptor or a buffer outside memory (counted).
func (m *Model) gather(r vmodel.Rings) (data []byte, bad bool) {
	for _, d := range m.chain {
		if d.write {
			m.count(func(s *Stats) { s.BadDescriptor++ })
			return nil, true
		}
		b, in := r.Memory.Bytes(d.addr, int(d.len))
		if !in {
			m.count(func(s *Stats) { s.BadAddress++ })
			return nil, true
		}
		data = append(data, b...)
	}
	return data, false
}

// txHeaderOK checks a transmit header against the negotiated features f
// (5.1.6.2.1).
func txHeaderOK(h *Header, n int, f uint64) bool {
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

// Receive gives the device a frame from the outside, with the offloads
// h asks for still to do (as a tap's vnet header does). What the driver
// did not negotiate is done here first: GSO segmented, a partial checksum
// completed. Each resulting frame goes into the receive buffers; a frame
// with no room is dropped and counted, as on a wire.
func (m *Model) Receive(frame []byte, h Header) error {
	m.mu.Lock()
	up := m.linkUp
	if !up {
		m.st.RxLinkDown++
	}
	m.mu.Unlock()
	if !up {
		return errNotReady
	}
	f := m.dev.Negotiated()
	var err error
	ok := m.dev.UseRings(rxQ, func(r vmodel.Rings) bool {
		q := &m.q[rxQ]
		q.bind(r)
		for _, fr := range m.forDriver(frame, h, f) {
			if e := m.rxPut(r, fr.frame, fr.hdr, f); e != nil {
				err = e
			}
		}
		return m.wantsInterrupt(rxQ, f)
	})
	if !ok {
		m.count(func(s *Stats) { s.RxNotReady++ })
		return errNotReady
	}
	return err
}

// forDriver turns a frame with offload requests into what the driver
// negotiated (f) to receive.
func (m *Model) forDriver(frame []byte, h Header, f uint64) []txFrame {
	gsoOK := h.GSOType == GSONone ||
		h.GSOType&^GSOECN == GSOTCPv4 && f&F_GUEST_TSO4 != 0 ||
		h.GSOType&^GSOECN == GSOTCPv6 && f&F_GUEST_TSO6 != 0
	if !gsoOK {
		m.count(func(s *Stats) { s.RxSegmented++ })
		var out []txFrame
		for _, s := range WireFrames(frame, h) {
			out = append(out, txFrame{frame: s})
		}
		return out
	}
	if h.Flags&HdrFNeedsCsum != 0 && f&F_GUEST_CSUM == 0 {
		m.count(func(s *Stats) { s.RxCsumDone++ })
		return []txFrame{{frame: WireFrames(frame, h)[0]}}
	}
	if f&F_GUEST_CSUM == 0 {
		h.Flags = 0
	}
	return []txFrame{{frame: frame, hdr: h}}
}

// rxPut writes one frame behind its header into the next receive chain,
// or with MRG_RXBUF into as many as it takes (num_buffers). Called inside
// UseRings.
func (m *Model) rxPut(r vmodel.Rings, frame []byte, h Header, f uint64) error {
	q := &m.q[rxQ]
	hl := hdrLen(f)
	mrg := f&F_MRG_RXBUF != 0
	data := make([]byte, hl+len(frame))
	copy(data[hl:], frame)
	if q.pending() > int(q.size) {
		m.count(func(s *Stats) { s.BadAvailIdx++ })
		r.NeedsReset()
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
			m.count(func(s *Stats) { s.BadDescriptor++ })
			r.NeedsReset()
			return errNoBuffers
		}
		n := 0
		for _, d := range m.chain {
			if !d.write {
				m.count(func(s *Stats) { s.BadDescriptor++ })
				r.NeedsReset()
				return errNoBuffers
			}
			b, in := r.Memory.Bytes(d.addr, int(d.len))
			if !in {
				m.count(func(s *Stats) { s.BadAddress++ })
				r.NeedsReset()
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
			m.count(func(s *Stats) { s.RxNoBuffers++ })
			return errNoBuffers
		}
		m.count(func(s *Stats) { s.RxTooBig++ })
		return errTooBig
	}
	h.N = uint16(len(parts))
	if !mrg {
		h.N = 0
		if hl == 12 {
			h.N = 1 // VERSION_1 without MRG_RXBUF: num_buffers is 1 (5.1.6.4)
		}
	}
	if b, ok := m.firstBuffer(r, parts[0].head); ok {
		h.put(b, hl)
	}
	for _, p := range parts {
		q.push(uint32(p.head), uint32(p.n))
	}
	q.publish()
	if f&F_RING_EVENT_IDX != 0 {
		q.setAvailEvent()
	}
	m.count(func(s *Stats) {
		if len(parts) > 1 {
			s.RxMerged++
		}
		s.RxFrames++
		s.RxBytes += uint64(len(frame))
	})
	return nil
}

// firstBuffer is the memory of chain head's first descriptor (the header
// goes there, and never spans descriptors: drivers post at least 10 bytes
// first).
func (m *Model) firstBuffer(r vmodel.Rings, head uint16) ([]byte, bool) {
	ch, ce := m.q[rxQ].walk(head, m.chain)
	if ce != chainOK || len(ch) == 0 || ch[0].len < 10 {
		return nil, false
	}
	return r.Memory.Bytes(ch[0].addr, int(ch[0].len))
}

// ReceiveRaw puts data, header included and unchecked, into the next
// receive chain and reports it used with length usedLen, for tests of
// the driver's handling of bad headers and lengths. It reports false
// without a buffer.
func (m *Model) ReceiveRaw(data []byte, usedLen uint32) bool {
	f := m.dev.Negotiated()
	put := false
	m.dev.UseRings(rxQ, func(r vmodel.Rings) bool {
		q := &m.q[rxQ]
		q.bind(r)
		if q.pending() == 0 {
			return false
		}
		head := q.take()
		m.chain, _ = q.walk(head, m.chain)
		rest := data
		for _, d := range m.chain {
			if b, in := r.Memory.Bytes(d.addr, int(d.len)); in {
				rest = rest[copy(b, rest):]
			}
		}
		q.push(uint32(head), usedLen)
		q.publish()
		put = true
		return m.wantsInterrupt(rxQ, f)
	})
	if put {
		m.count(func(s *Stats) { s.InjectedRaw++ })
	}
	return put
}

// InjectUsed writes a used entry of the device's choosing (id, len) to
// queue q, as a buggy device would, and interrupts if the driver wants.
func (m *Model) InjectUsed(q uint16, id, n uint32) {
	if q > txQ {
		return
	}
	f := m.dev.Negotiated()
	if m.dev.UseRings(q, func(r vmodel.Rings) bool {
		qu := &m.q[q]
		qu.bind(r)
		qu.push(id, n)
		qu.publish()
		return m.wantsInterrupt(int(q), f)
	}) {
		m.count(func(s *Stats) { s.InjectedUsed++ })
	}
}

// RxPosted is the number of receive chains the driver has made available
// and the device has not used.
func (m *Model) RxPosted() int {
	n := 0
	m.dev.UseRings(rxQ, func(r vmodel.Rings) bool {
		q := &m.q[rxQ]
		q.bind(r)
		n = q.pending()
		return false
	})
	return n
}
