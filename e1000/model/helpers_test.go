package model

import (
	"encoding/binary"
	"testing"
)

// The tests write descriptors by hand with the byte offsets and bit values
// of the manual's tables (3.2.3, 3.3.3), as literal numbers, so that they
// check the model's layout instead of reusing it.

var testMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

var broadcastMAC = [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

func newManual(t testing.TB) *Model {
	t.Helper()
	m := New(Config{MAC: testMAC, ManualClock: true, MemSize: 4 << 20})
	t.Cleanup(m.Close)
	return m
}

func alloc(t testing.TB, m *Model, size, align int) ([]byte, uint64) {
	t.Helper()
	buf, addr, err := m.DMA().Alloc(size, align)
	if err != nil {
		t.Fatalf("Alloc(%d, %d): %v", size, align, err)
	}
	return buf, addr
}

// rxRing is a receive ring laid out by hand in the arena.
type rxRing struct {
	ring  []byte
	base  uint64
	bufs  [][]byte
	addrs []uint64
}

// rxDesc is one receive descriptor as read back from memory (Table 3-1).
type rxDesc struct {
	addr   uint64
	length uint16
	csum   uint16
	status uint8
	errors uint8
}

func (r *rxRing) desc(i int) rxDesc {
	d := r.ring[16*i:]
	return rxDesc{
		addr:   binary.LittleEndian.Uint64(d[0:]),
		length: binary.LittleEndian.Uint16(d[8:]),
		csum:   binary.LittleEndian.Uint16(d[10:]),
		status: d[12],
		errors: d[13],
	}
}

// setupRx brings the link up, lays out n descriptors with bufSize-byte
// buffers, gives all but one to the device (RDT = n-1) and writes rctl.
func setupRx(t testing.TB, m *Model, n, bufSize int, rctl uint32) *rxRing {
	t.Helper()
	r := &rxRing{}
	r.ring, r.base = alloc(t, m, 16*n, 128)
	for i := range n {
		buf, addr := alloc(t, m, bufSize, 16)
		r.bufs, r.addrs = append(r.bufs, buf), append(r.addrs, addr)
		binary.LittleEndian.PutUint64(r.ring[16*i:], addr)
	}
	m.Write32(CTRL, CTRL_SLU)
	m.Write32(RDBAL, uint32(r.base))
	m.Write32(RDBAH, uint32(r.base>>32))
	m.Write32(RDLEN, uint32(16*n))
	m.Write32(RDH, 0)
	m.Write32(RDT, uint32(n-1))
	m.Write32(RCTL, rctl)
	m.Write32(ICR, ^uint32(0)) // drop the LSC from SLU
	return r
}

// txRing is a transmit ring laid out by hand in the arena.
type txRing struct {
	ring []byte
	base uint64
	n    int
}

// put writes legacy descriptor i (Table 3-8): address, length, CSO, CMD,
// STA (cleared), CSS, special.
func (r *txRing) put(i int, addr uint64, length int, cso, cmd, css uint8) {
	d := r.ring[16*i : 16*i+16]
	binary.LittleEndian.PutUint64(d[0:], addr)
	binary.LittleEndian.PutUint16(d[8:], uint16(length))
	d[10], d[11], d[12], d[13] = cso, cmd, 0, css
	binary.LittleEndian.PutUint16(d[14:], 0)
}

func (r *txRing) status(i int) uint8 { return r.ring[16*i+12] }

// Legacy transmit command bits (Table 3-10), spelled out for the tests.
const (
	tEOP  = 0x01
	tIFCS = 0x02
	tIC   = 0x04
	tRS   = 0x08
	tDEXT = 0x20
	tIDE  = 0x80
)

// setupTx brings the link up, lays out an n-descriptor ring and writes tctl.
func setupTx(t testing.TB, m *Model, n int, tctl uint32) *txRing {
	t.Helper()
	r := &txRing{n: n}
	r.ring, r.base = alloc(t, m, 16*n, 128)
	m.Write32(CTRL, CTRL_SLU)
	m.Write32(TDBAL, uint32(r.base))
	m.Write32(TDBAH, uint32(r.base>>32))
	m.Write32(TDLEN, uint32(16*n))
	m.Write32(TDH, 0)
	m.Write32(TDT, 0)
	m.Write32(TCTL, tctl)
	m.Write32(ICR, ^uint32(0)) // drop the LSC from SLU
	return r
}

// captureTx records every transmitted frame.
func captureTx(m *Model) *[][]byte {
	var got [][]byte
	m.SetTransmitHandler(func(f []byte) { got = append(got, append([]byte(nil), f...)) })
	return &got
}

// countIRQ installs a handler that counts calls and, like a driver's ISR,
// reads ICR; the causes it saw are accumulated in *causes.
func countIRQ(m *Model) (calls *int, causes *uint32) {
	calls, causes = new(int), new(uint32)
	m.SetIRQHandler(func() {
		*calls++
		*causes |= m.Read32(ICR)
	})
	return calls, causes
}

func ethFrame(dst, src [6]byte, etherType uint16, payload []byte) []byte {
	f := make([]byte, 0, 14+len(payload))
	f = append(f, dst[:]...)
	f = append(f, src[:]...)
	f = binary.BigEndian.AppendUint16(f, etherType)
	return append(f, payload...)
}

// inetChecksum is RFC 1071's checksum, written independently of the
// model's helpers: the complement of the one's complement sum.
func inetChecksum(parts ...[]byte) uint16 {
	var s uint64
	for _, b := range parts {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint64(b[i])<<8 | uint64(b[i+1])
		}
		if len(b)%2 == 1 {
			s += uint64(b[len(b)-1]) << 8
		}
	}
	for s>>16 != 0 {
		s = s&0xFFFF + s>>16
	}
	return ^uint16(s)
}

var (
	srcIP = []byte{192, 168, 7, 1}
	dstIP = []byte{192, 168, 7, 2}
)

// ipv4 builds an IPv4 packet (no options) around l4 with a correct header
// checksum.
func ipv4(proto byte, l4 []byte) []byte {
	h := make([]byte, 20, 20+len(l4))
	h[0], h[8], h[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(l4)))
	copy(h[12:], srcIP)
	copy(h[16:], dstIP)
	binary.BigEndian.PutUint16(h[10:], inetChecksum(h))
	return append(h, l4...)
}

func pseudoHeader(proto byte, l4len int) []byte {
	p := append(append([]byte{}, srcIP...), dstIP...)
	p = append(p, 0, proto)
	return binary.BigEndian.AppendUint16(p, uint16(l4len))
}

// udp builds a UDP datagram with a correct checksum over the IPv4 pseudo
// header.
func udp(payload []byte) []byte {
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], 1234)
	binary.BigEndian.PutUint16(u[2:], 80)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	u = append(u, payload...)
	binary.BigEndian.PutUint16(u[6:], inetChecksum(pseudoHeader(17, len(u)), u))
	return u
}

// tcp builds a minimal TCP segment with a correct checksum.
func tcp(payload []byte) []byte {
	s := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(s[0:], 1234)
	binary.BigEndian.PutUint16(s[2:], 80)
	s[12] = 5 << 4
	s[13] = 0x18 // PSH|ACK
	binary.BigEndian.PutUint16(s[14:], 1024)
	s = append(s, payload...)
	binary.BigEndian.PutUint16(s[16:], inetChecksum(pseudoHeader(6, len(s)), s))
	return s
}

func bytesOf(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}
