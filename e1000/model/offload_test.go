package model

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Transmit offloads: TCP/IP context and data descriptors (3.3.6, 3.3.7),
// checksum insertion and TCP segmentation (3.5). As elsewhere, descriptors
// are written with the manual's literal offsets and bits, and the expected
// frames are built independently of the model.

// TCP/IP descriptor bits, spelled out (Tables 3-14, 3-17, 3-18).
const (
	cTCP  = 0x01 // TUCMD.TCP
	cIP   = 0x02 // TUCMD.IP (IPv4)
	cTSE  = 0x04 // TUCMD.TSE and DCMD.TSE
	cRS   = 0x08
	cDEXT = 0x20
	pIXSM = 0x01 // POPTS
	pTXSM = 0x02
)

// ctx is a TCP/IP context descriptor's fields.
type ctx struct {
	ipcss, ipcso, ipcse, tucss, tucso, tucse, paylen, hdrlen, mss int
	tucmd                                                         uint8
}

// putContext writes a TCP/IP context descriptor (Table 3-13): DTYP 0000b in
// bits 23:20 of the dword at 8, TUCMD in byte 11.
func (r *txRing) putContext(i int, c ctx) {
	d := r.ring[16*i : 16*i+16]
	d[0], d[1] = byte(c.ipcss), byte(c.ipcso)
	binary.LittleEndian.PutUint16(d[2:], uint16(c.ipcse))
	d[4], d[5] = byte(c.tucss), byte(c.tucso)
	binary.LittleEndian.PutUint16(d[6:], uint16(c.tucse))
	binary.LittleEndian.PutUint32(d[8:], uint32(c.paylen)&0xFFFFF)
	d[11] = c.tucmd | cDEXT
	d[12], d[13] = 0, byte(c.hdrlen)
	binary.LittleEndian.PutUint16(d[14:], uint16(c.mss))
}

// putData writes a TCP/IP data descriptor (Table 3-15): DTALEN in bits 19:0
// and DTYP 0001b in bits 23:20 of the dword at 8, DCMD in byte 11, POPTS in
// byte 13.
func (r *txRing) putData(i int, addr uint64, length int, dcmd, popts uint8) {
	d := r.ring[16*i : 16*i+16]
	binary.LittleEndian.PutUint64(d[0:], addr)
	binary.LittleEndian.PutUint32(d[8:], uint32(length)&0xFFFFF|1<<20)
	d[11] = dcmd | cDEXT
	d[12], d[13] = 0, popts
	binary.LittleEndian.PutUint16(d[14:], 0)
}

// tcpSeg builds a TCP header without options (checksum zero) followed by
// payload.
func tcpSeg(seq uint32, flags byte, payload []byte) []byte {
	s := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(s[0:], 1234)
	binary.BigEndian.PutUint16(s[2:], 80)
	binary.BigEndian.PutUint32(s[4:], seq)
	binary.BigEndian.PutUint32(s[8:], 777)
	s[12], s[13] = 5<<4, flags
	binary.BigEndian.PutUint16(s[14:], 1024)
	return append(s, payload...)
}

// ipv4ID wraps l4 in an IPv4 header with identification id and a correct
// header checksum; the TCP checksum is then set correct too.
func ipv4TCP(id uint16, l4 []byte) []byte {
	p := ipv4(6, l4)
	binary.BigEndian.PutUint16(p[4:], id)
	binary.BigEndian.PutUint16(p[10:], 0)
	binary.BigEndian.PutUint16(p[10:], inetChecksum(p[:20]))
	t := p[20:]
	binary.BigEndian.PutUint16(t[16:], 0)
	binary.BigEndian.PutUint16(t[16:], inetChecksum(pseudoHeader(6, len(t)), t))
	return p
}

// onesSum16 is the folded one's complement sum of b, not complemented.
func onesSum16(b []byte) uint16 { return ^inetChecksum(b) }

// tsoPrototype is a TCP/IPv4 packet prepared for TSO as the manual asks
// (3.5.7, 3.5.8): IP checksum zero, TCP checksum holding the pseudo-header
// sum without the TCP length.
func tsoPrototype(seq uint32, flags byte, id uint16, payload []byte) []byte {
	f := ethFrame(testMAC, testMAC, 0x0800, ipv4TCP(id, tcpSeg(seq, flags, payload)))
	binary.BigEndian.PutUint16(f[14+10:], 0)
	ph := append(append(append([]byte{}, srcIP...), dstIP...), 0, 6)
	binary.BigEndian.PutUint16(f[34+16:], onesSum16(ph))
	return f
}

func TestTxTSOSegmentsAsTheManualSays(t *testing.T) {
	const mss, hdr = 1000, 54
	payload := bytesOf(3500, 9)
	m := newManual(t)
	r := setupTx(t, m, 8, TCTL_EN|TCTL_PSP)
	got := captureTx(m)
	f := tsoPrototype(5000, 0x19, 0xFFFE, payload) // FIN|PSH|ACK, ID about to wrap
	// The header in its own buffer, the payload split over two more.
	parts := [][]byte{f[:hdr], f[hdr : hdr+1700], f[hdr+1700:]}
	r.putContext(0, ctx{ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, paylen: len(payload),
		hdrlen: hdr, mss: mss, tucmd: cTCP | cIP | cTSE})
	for i, p := range parts {
		buf, addr := alloc(t, m, len(p), 16)
		copy(buf, p)
		dcmd, popts := uint8(cTSE|tIFCS), uint8(0)
		if i == 0 {
			popts = pIXSM | pTXSM
		}
		if i == len(parts)-1 {
			dcmd |= tEOP | cRS
		}
		r.putData(1+i, addr, len(p), dcmd, popts)
	}
	m.Write32(TDT, 4)

	if len(*got) != 4 {
		t.Fatalf("%d segments, want 4", len(*got))
	}
	for i, seg := range *got {
		off := i * mss
		n := min(mss, len(payload)-off)
		flags := byte(0x10) // ACK; FIN and PSH only on the last
		if i == 3 {
			flags = 0x19
		}
		want := ethFrame(testMAC, testMAC, 0x0800,
			ipv4TCP(0xFFFE+uint16(i), tcpSeg(5000+uint32(off), flags, payload[off:off+n])))
		if !bytes.Equal(seg, want) {
			t.Errorf("segment %d\n got %x\nwant %x", i, seg[:64], want[:64])
		}
	}
	st := m.Stats()
	if st.TxTSOContexts != 1 || st.TxTSOSegments != 4 || st.TxFrames != 4 || st.TxContexts != 1 || st.TxDropped != 0 {
		t.Errorf("stats %+v", st)
	}
	if m.Read32(TSCTC) != 1 || m.Read32(GPTC) != 4 {
		t.Errorf("TSCTC/GPTC wrong")
	}
	if r.status(0) != 0 || r.status(1) != 0 || r.status(3) != 1 {
		t.Errorf("write-back %d %d %d: only the RS descriptor", r.status(0), r.status(1), r.status(3))
	}
}

// TestTxChecksumOffload inserts TCP and UDP checksums over IPv4 and IPv6
// with a checksum-only context: the field holds the full pseudo-header sum,
// length included, and the device sums from TUCSS to the end.
func TestTxChecksumOffload(t *testing.T) {
	tcp4 := ethFrame(testMAC, testMAC, 0x0800, ipv4TCP(1, tcpSeg(1, 0x18, bytesOf(301, 1))))
	udp4 := ethFrame(testMAC, testMAC, 0x0800, ipv4(17, udp(bytesOf(99, 2))))
	tcp6 := ethFrame(testMAC, testMAC, 0x86DD, ipv6(6, tcpSeg(7, 0x10, bytesOf(500, 3))))
	for _, c := range []struct {
		name   string
		want   []byte
		l4, cs int
		tucmd  uint8
		proto  byte
		pseudo func(proto byte, l4len int) []byte
	}{
		{"TCP/IPv4", tcp4, 34, 16, cTCP | cIP, 6, pseudoHeader},
		{"UDP/IPv4", udp4, 34, 6, cIP, 17, pseudoHeader},
		{"TCP/IPv6", tcp6, 54, 16, cTCP, 6, pseudoHeader6},
	} {
		m := newManual(t)
		r := setupTx(t, m, 8, TCTL_EN)
		got := captureTx(m)
		f := bytes.Clone(c.want)
		binary.BigEndian.PutUint16(f[c.l4+c.cs:], onesSum16(c.pseudo(c.proto, len(f)-c.l4)))
		buf, addr := alloc(t, m, len(f), 16)
		copy(buf, f)
		r.putContext(0, ctx{tucss: c.l4, tucso: c.l4 + c.cs, tucmd: c.tucmd})
		r.putData(1, addr, len(f), tEOP|tIFCS|cRS, pTXSM)
		m.Write32(TDT, 2)
		if len(*got) != 1 || !bytes.Equal((*got)[0], c.want) {
			t.Errorf("%s: checksum not inserted as expected", c.name)
		}
		if st := m.Stats(); st.TxChecksums != 1 || st.TxContexts != 1 {
			t.Errorf("%s: stats %+v", c.name, st)
		}
	}
}

// TestTxContextPersists sends two packets after one context descriptor: the
// 82540EM keeps the context until the next one.
func TestTxContextPersists(t *testing.T) {
	m := newManual(t)
	r := setupTx(t, m, 8, TCTL_EN)
	got := captureTx(m)
	r.putContext(0, ctx{tucss: 34, tucso: 40, tucmd: cIP})
	var want [][]byte
	for i := range 2 {
		w := ethFrame(testMAC, testMAC, 0x0800, ipv4(17, udp(bytesOf(40+i, byte(i)))))
		f := bytes.Clone(w)
		binary.BigEndian.PutUint16(f[40:], onesSum16(pseudoHeader(17, len(f)-34)))
		buf, addr := alloc(t, m, len(f), 16)
		copy(buf, f)
		r.putData(1+i, addr, len(f), tEOP|cRS, pTXSM)
		want = append(want, w)
	}
	m.Write32(TDT, 3)
	if len(*got) != 2 || !bytes.Equal((*got)[0], want[0]) || !bytes.Equal((*got)[1], want[1]) {
		t.Fatal("second packet did not use the loaded context")
	}
}

func TestTxTSOFailures(t *testing.T) {
	payload := bytesOf(3000, 4)
	f := tsoPrototype(1, 0x10, 1, payload)
	good := ctx{ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, paylen: len(payload), hdrlen: 54, mss: 1000, tucmd: cTCP | cIP | cTSE}
	for _, c := range []struct {
		name   string
		ctx    func(*ctx)
		dcmd   uint8 // extra DCMD bits
		bad    func(ModelStats) bool
		tsctfc uint32
	}{
		{"PAYLEN larger than the data", func(c *ctx) { c.paylen++ }, cTSE, nil, 1},
		{"PAYLEN smaller than the data", func(c *ctx) { c.paylen-- }, cTSE, nil, 1},
		{"MSS zero", func(c *ctx) { c.mss = 0 }, cTSE, nil, 1},
		{"MSS + HDRLEN too close to the FIFO size", func(c *ctx) { c.mss = 16384 - 80 - 54 + 1 }, cTSE, nil, 1},
		{"HDRLEN over the header buffer", func(c *ctx) { c.hdrlen, c.paylen = 241, len(payload)+54-241 }, cTSE, nil, 1},
		{"TSE data without a TSE context", func(c *ctx) { c.tucmd &^= cTSE }, cTSE,
			func(s ModelStats) bool { return s.TxBadSequence == 1 }, 0},
	} {
		m := newManual(t)
		r := setupTx(t, m, 8, TCTL_EN)
		got := captureTx(m)
		cx := good
		c.ctx(&cx)
		buf, addr := alloc(t, m, len(f), 16)
		copy(buf, f)
		r.putContext(0, cx)
		r.putData(1, addr, len(f), tEOP|cRS|c.dcmd, pTXSM|pIXSM)
		m.Write32(TDT, 2)
		st := m.Stats()
		if len(*got) != 0 || st.TxDropped != 1 {
			t.Errorf("%s: %d frames sent, stats %+v", c.name, len(*got), st)
		}
		if v := m.Read32(TSCTFC); v != c.tsctfc || (c.bad != nil && !c.bad(st)) {
			t.Errorf("%s: TSCTFC %d, stats %+v", c.name, v, st)
		}
		if r.status(1) != 1 {
			t.Errorf("%s: descriptor not written back", c.name)
		}
	}
}

// ipv6 builds an IPv6 header (no extension headers) around l4.
func ipv6(next byte, l4 []byte) []byte {
	h := make([]byte, 40, 40+len(l4))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(l4)))
	h[6], h[7] = next, 64
	copy(h[8:], srcIP6)
	copy(h[24:], dstIP6)
	p := append(h, l4...)
	if next == 6 {
		t := p[40:]
		binary.BigEndian.PutUint16(t[16:], 0)
		binary.BigEndian.PutUint16(t[16:], inetChecksum(pseudoHeader6(6, len(t)), t))
	}
	return p
}

var (
	srcIP6 = []byte{0xfe, 0x80, 15: 1}
	dstIP6 = []byte{0xfe, 0x80, 15: 2}
)

// pseudoHeader6 is the IPv6 pseudo-header (RFC 8200 8.1).
func pseudoHeader6(next byte, l4len int) []byte {
	p := append(append([]byte{}, srcIP6...), dstIP6...)
	p = binary.BigEndian.AppendUint32(p, uint32(l4len))
	return append(p, 0, 0, 0, next)
}
