package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"tamanet/inet"
)

// Reasons Receive and InjectRx refuse a frame. Returned errors wrap one of
// these, with details.
var (
	ErrLinkDown      = errors.New("e1000 model: link down (STATUS.LU clear)")
	ErrRxDisabled    = errors.New("e1000 model: receiver disabled (RCTL.EN clear)")
	ErrRunt          = errors.New("e1000 model: frame shorter than an Ethernet header")
	ErrOversize      = errors.New("e1000 model: frame too long")
	ErrNoDescriptors = errors.New("e1000 model: no free receive descriptors")
	ErrBadConfig     = errors.New("e1000 model: receive ring or buffer size unusable")
	ErrDMA           = errors.New("e1000 model: DMA address outside the arena")
)

// Receive puts frame, an Ethernet frame without FCS, on the wire towards
// the device. It returns nil when the frame was written to the receive ring
// or silently dropped by the address filter, and otherwise an error wrapping
// the reason, after counting it where the hardware would (statistics
// registers, ICR) and in Stats.
//
// The device appends the 4-byte FCS the wire would have carried unless
// RCTL.SECRC strips it, so descriptor lengths include it when SECRC is
// clear. A frame larger than one receive buffer spans several descriptors,
// EOP on the last only (3.2.3). Frames down to 14 bytes are accepted: a
// real wire carries at least 60, but tests may send less.
func (m *Model) Receive(frame []byte) error {
	m.mu.Lock()
	err := m.receive(frame)
	if err != nil {
		m.st.RxDropped++
	}
	m.unlockNotify()
	return err
}

func (m *Model) receive(frame []byte) error {
	if !m.linkUp() {
		m.st.RxLinkDown++
		return ErrLinkDown
	}
	if m.rctl&RCTL_EN == 0 {
		m.st.RxDisabled++
		return ErrRxDisabled
	}
	wire := len(frame) + crcLen
	m.statInc(TPR)
	m.statAdd64(TORL, wire)
	if len(frame) < ethHdrLen {
		m.statInc(RUC)
		m.statInc(RLEC)
		m.st.RxRunt++
		return fmt.Errorf("%w: %d bytes", ErrRunt, len(frame))
	}
	dst := frame[:6]
	m.autoRead()
	accept, inexact := m.filter(dst)
	if !accept {
		m.st.RxFiltered++
		return nil
	}
	limit := MaxFrameNoLPE
	if m.rctl&RCTL_LPE != 0 {
		limit = MaxFrameLPE
	}
	if wire > limit {
		// Oversize frames are counted after filtering (13.7.36).
		m.statInc(ROC)
		m.statInc(RLEC)
		m.st.RxOversize++
		return fmt.Errorf("%w: %d bytes with FCS, limit %d (RCTL.LPE=%t)", ErrOversize, wire, limit, m.rctl&RCTL_LPE != 0)
	}
	bufSize, err := m.rxBufSize()
	if err != nil {
		m.statInc(MPC)
		return err
	}
	ring, n, err := m.rxRing()
	if err != nil {
		m.statInc(MPC)
		return err
	}
	data := append(m.rxScratch[:0], frame...)
	if m.rctl&RCTL_SECRC == 0 {
		data = binary.LittleEndian.AppendUint32(data, crc32.ChecksumIEEE(frame))
	}
	need := (len(data) + bufSize - 1) / bufSize
	if free := m.rxFree(n); need > free {
		// Head met tail: the packet is missed (13.7.33, 13.4.17 RXO).
		m.statInc(MPC)
		m.statInc(RNBC)
		m.setCause(ICR_RXO)
		m.st.RxNoDescriptors++
		return fmt.Errorf("%w: need %d, have %d (RDH=%d RDT=%d)", ErrNoDescriptors, need, free, m.rdh, m.rdt)
	}

	status, errs := rxChecksum(frame, m.rxcsum)
	if inexact {
		status |= RXD_STAT_PIF
	}
	var pcsum uint16
	if pcss := int(m.rxcsum & RXCSUM_PCSS_MASK); pcss < len(data) {
		pcsum = inet.Fold(inet.Sum(0, data[pcss:]))
	}
	dmaErr := false
	for i := range need {
		d := m.rxDesc(ring, n, i)
		chunk := data[i*bufSize : min((i+1)*bufSize, len(data))]
		length, st, er := len(chunk), uint8(RXD_STAT_DD), uint8(0)
		if buf, ok := m.arena.Bytes(binary.LittleEndian.Uint64(d[RXD_ADDR:]), len(chunk)); ok {
			copy(buf, chunk)
		} else {
			length, er, dmaErr = 0, RXD_ERR_RXE, true
		}
		csum := uint16(0)
		if i == 0 {
			csum = pcsum // the packet checksum goes in the first descriptor
		}
		if i == need-1 {
			st |= RXD_STAT_EOP | status // status and errors only with EOP (3.2.3.1)
			er |= errs
		}
		writeRxDesc(d, uint16(length), csum, st, er)
	}
	m.rxAdvance(n, need)
	m.countRxGood(dst, wire)
	m.rxPacketDone()
	if dmaErr {
		m.st.RxDMAErrors++
		return fmt.Errorf("%w: receive buffer for descriptor(s) at RDH", ErrDMA)
	}
	m.st.RxFrames++
	m.st.RxBytes += uint64(len(frame))
	return nil
}

// InjectRx writes one receive descriptor write-back at RDH with the given
// length, status and errors, copying payload into its buffer (at most one
// buffer's worth), and then behaves as if a packet had arrived: RDH
// advances and the receive timers run. It is for tests of a driver's
// handling of malformed write-backs (EOP clear, error bits, a length larger
// than the buffer) and ignores RCTL.EN and the link state.
func (m *Model) InjectRx(length uint16, status, errors uint8, payload []byte) error {
	m.mu.Lock()
	err := m.injectRx(length, status, errors, payload)
	m.unlockNotify()
	return err
}

func (m *Model) injectRx(length uint16, status, errors uint8, payload []byte) error {
	ring, n, err := m.rxRing()
	if err != nil {
		return err
	}
	if m.rxFree(n) == 0 {
		return fmt.Errorf("%w: RDH=%d RDT=%d", ErrNoDescriptors, m.rdh, m.rdt)
	}
	d := m.rxDesc(ring, n, 0)
	if size, err := m.rxBufSize(); err == nil && len(payload) > size {
		payload = payload[:size]
	}
	if len(payload) > 0 {
		buf, ok := m.arena.Bytes(binary.LittleEndian.Uint64(d[RXD_ADDR:]), len(payload))
		if !ok {
			m.st.RxDMAErrors++
			return fmt.Errorf("%w: receive buffer at RDH=%d", ErrDMA, m.rdh)
		}
		copy(buf, payload)
	}
	writeRxDesc(d, length, 0, status, errors)
	m.rxAdvance(n, 1)
	m.rxPacketDone()
	m.st.RxInjected++
	return nil
}

func writeRxDesc(d []byte, length, csum uint16, status, errs uint8) {
	binary.LittleEndian.PutUint16(d[RXD_LENGTH:], length)
	binary.LittleEndian.PutUint16(d[RXD_CSUM:], csum)
	publishStatus(d, [4]byte{RXD_STATUS - statusWord: status, RXD_ERRORS - statusWord: errs}) // special 0
}

// rxBufSize decodes RCTL.BSIZE and RCTL.BSEX (13.4.22). BSEX with BSIZE=00b
// is reserved and refused.
func (m *Model) rxBufSize() (int, error) {
	bs := int(m.rctl & RCTL_BSIZE_MASK >> RCTL_BSIZE_SHIFT)
	if m.rctl&RCTL_BSEX == 0 {
		return 2048 >> bs, nil
	}
	if bs == 0 {
		m.st.RxBadConfig++
		return 0, fmt.Errorf("%w: RCTL.BSEX with BSIZE=00b is reserved", ErrBadConfig)
	}
	return 16384 >> (bs - 1), nil
}

// rxRing returns the receive descriptor ring and its length in
// descriptors, after checking it lies in the arena and that RDH and RDT
// point inside it.
func (m *Model) rxRing() ([]byte, int, error) {
	base := uint64(m.rdbah)<<32 | uint64(m.rdbal)
	n := int(m.rdlen / RxDescSize)
	ring, ok := m.arena.Bytes(base, int(m.rdlen))
	switch {
	case n == 0:
		return nil, 0, m.ringError("RDLEN is 0")
	case !ok:
		return nil, 0, m.ringError(fmt.Sprintf("ring %#x+%d outside the arena", base, m.rdlen))
	case int(m.rdh) >= n || int(m.rdt) >= n:
		return nil, 0, m.ringError(fmt.Sprintf("RDH=%d or RDT=%d past %d descriptors", m.rdh, m.rdt, n))
	}
	return ring, n, nil
}

func (m *Model) ringError(what string) error {
	m.st.RingErrors++
	m.st.RxBadConfig++
	return fmt.Errorf("%w: %s", ErrBadConfig, what)
}

// rxFree is the number of descriptors owned by hardware: RDH up to, not
// including, RDT (3.2.6).
func (m *Model) rxFree(n int) int {
	return (int(m.rdt) - int(m.rdh) + n) % n
}

// rxDesc returns the i-th descriptor after RDH.
func (m *Model) rxDesc(ring []byte, n, i int) []byte {
	off := (int(m.rdh) + i) % n * RxDescSize
	return ring[off : off+RxDescSize]
}

// rxAdvance moves RDH past k written-back descriptors and raises RXDMT0 when
// the free descriptors fall to the RCTL.RDMTS fraction of the ring (13.4.22;
// the reserved encoding 11b is treated as 1/8).
func (m *Model) rxAdvance(n, k int) {
	before := m.rxFree(n)
	m.rdh = uint32((int(m.rdh) + k) % n)
	m.st.RxDescriptors += uint64(k)
	shift := min(int(m.rctl&RCTL_RDMTS_MASK>>RCTL_RDMTS_SHIFT), 2) + 1
	if threshold := n >> shift; before > threshold && before-k <= threshold {
		m.setCause(ICR_RXDMT0)
	}
}
