package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// Receive status and error bits (Tables 3-2 and 3-3), spelled out.
const (
	sDD    = 0x01
	sEOP   = 0x02
	sIXSM  = 0x04
	sTCPCS = 0x20
	sIPCS  = 0x40
	sPIF   = 0x80
	eTCPE  = 0x20
	eIPE   = 0x40
	eRXE   = 0x80
)

func TestRxWritesDescriptorWithFCS(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_BAM) // SECRC clear: FCS kept
	frame := ethFrame(testMAC, [6]byte{2, 0, 0, 0, 0, 1}, 0x88B5, bytesOf(46, 7))
	if err := m.Receive(frame); err != nil {
		t.Fatal(err)
	}
	d := r.desc(0)
	if d.status != sDD|sEOP|sIXSM || d.errors != 0 {
		t.Fatalf("status %#x errors %#x, want DD|EOP|IXSM and none", d.status, d.errors)
	}
	if d.length != 64 {
		t.Fatalf("length %d, want 60 + 4 FCS", d.length)
	}
	got := r.bufs[0][:64]
	if !bytes.Equal(got[:60], frame) {
		t.Fatal("buffer does not hold the frame")
	}
	// A frame followed by its FCS leaves the CRC-32 residue.
	if res := crc32.ChecksumIEEE(got); res != 0x2144DF1C {
		t.Fatalf("FCS wrong: residue %#x", res)
	}
	if d.addr != r.addrs[0] {
		t.Fatal("buffer address overwritten")
	}
	if got := m.Read32(RDH); got != 1 {
		t.Fatalf("RDH = %d, want 1", got)
	}
	if r.desc(1).status != 0 {
		t.Fatal("descriptor 1 touched")
	}
	for _, c := range []struct {
		name      string
		off, want uint32
	}{{"TPR", TPR, 1}, {"GPRC", GPRC, 1}, {"GORCL", GORCL, 64}, {"TORL", TORL, 64}, {"PRC64", PRC64, 1}, {"MPRC", MPRC, 0}} {
		if got := m.Read32(c.off); got != c.want {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
	if st := m.Stats(); st.RxFrames != 1 || st.RxBytes != 60 || st.RxDescriptors != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRxStripsCRC(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_SECRC)
	frame := ethFrame(testMAC, testMAC, 0x88B5, bytesOf(100, 3))
	if err := m.Receive(frame); err != nil {
		t.Fatal(err)
	}
	if d := r.desc(0); d.length != uint16(len(frame)) || !bytes.Equal(r.bufs[0][:len(frame)], frame) {
		t.Fatalf("length %d, want %d", d.length, len(frame))
	}
	// GORC counts DA through CRC whether or not the CRC is stripped.
	if got := m.Read32(GORCL); got != uint32(len(frame)+4) {
		t.Errorf("GORCL = %d", got)
	}
}

func TestRxSpansDescriptors(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 256, RCTL_EN|RCTL_BSIZE_256)
	if m.Read32(RCTL)>>16&3 != 3 {
		t.Fatal("RCTL_BSIZE_256 is not BSIZE=11b")
	}
	frame := ethFrame(testMAC, testMAC, 0x88B5, bytesOf(586, 9)) // 600 + 4 FCS
	if err := m.Receive(frame); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for i, want := range []struct {
		length uint16
		status uint8
	}{{256, sDD}, {256, sDD}, {92, sDD | sEOP | sIXSM}} {
		d := r.desc(i)
		if d.length != want.length || d.status != want.status {
			t.Errorf("desc %d: length %d status %#x, want %d %#x", i, d.length, d.status, want.length, want.status)
		}
		all = append(all, r.bufs[i][:d.length]...)
	}
	if !bytes.Equal(all[:600], frame) || crc32.ChecksumIEEE(all) != 0x2144DF1C {
		t.Error("reassembled buffers differ from frame + FCS")
	}
	if got := m.Read32(RDH); got != 3 {
		t.Errorf("RDH = %d, want 3", got)
	}
}

func TestRxBufferSizes(t *testing.T) {
	for _, c := range []struct {
		rctl uint32
		size int
	}{
		{RCTL_BSIZE_256, 256}, {RCTL_BSIZE_512, 512}, {RCTL_BSIZE_1024, 1024}, {RCTL_BSIZE_2048, 2048},
		{RCTL_BSIZE_4096, 4096}, {RCTL_BSIZE_8192, 8192}, {RCTL_BSIZE_16384, 16384},
	} {
		m := New(Config{MAC: testMAC, ManualClock: true, MemSize: 1 << 20})
		// FCS kept: a frame of size-4 bytes fills the buffer exactly.
		r := setupRx(t, m, 8, c.size, RCTL_EN|RCTL_LPE|c.rctl)
		if err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, c.size-18))); err != nil {
			t.Fatalf("size %d: %v", c.size, err)
		}
		if d := r.desc(0); d.status&sEOP == 0 || int(d.length) != c.size {
			t.Errorf("size %d: a full buffer did not fit one descriptor (%+v)", c.size, d)
		}
		if c.size == 16384 {
			continue // one byte more is oversize even with LPE
		}
		if err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, c.size-17))); err != nil {
			t.Fatalf("size %d+1: %v", c.size, err)
		}
		if d := r.desc(1); d.status&sEOP != 0 || int(d.length) != c.size {
			t.Errorf("size %d+1: first descriptor %+v", c.size, d)
		}
		if d := r.desc(2); d.status&sEOP == 0 || d.length != 1 {
			t.Errorf("size %d+1: second descriptor %+v", c.size, d)
		}
	}
	m := newManual(t)
	setupRx(t, m, 8, 2048, RCTL_EN|RCTL_BSEX) // BSEX with BSIZE=00b is reserved
	if err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 50))); !errors.Is(err, ErrBadConfig) {
		t.Errorf("reserved buffer size: err %v", err)
	}
}

func TestRxOversizeNeedsLPE(t *testing.T) {
	m := newManual(t)
	setupRx(t, m, 8, 2048, RCTL_EN|RCTL_SECRC)
	if err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 1518-14))); err != nil {
		t.Fatalf("1518+4 bytes refused: %v", err)
	}
	err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 1519-14)))
	if !errors.Is(err, ErrOversize) {
		t.Fatalf("1519+4 bytes without LPE: err %v", err)
	}
	if got := m.Read32(ROC); got != 1 {
		t.Errorf("ROC = %d", got)
	}
	if got := m.Read32(RLEC); got != 1 {
		t.Errorf("RLEC = %d", got)
	}
	m.Write32(RCTL, RCTL_EN|RCTL_SECRC|RCTL_LPE)
	if err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 1519-14))); err != nil {
		t.Fatalf("with LPE: %v", err)
	}
	if err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 16381-14))); !errors.Is(err, ErrOversize) {
		t.Fatalf("16381+4 bytes with LPE: err %v", err)
	}
	if st := m.Stats(); st.RxOversize != 2 || st.RxDropped != 2 || st.RxFrames != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestRxRefusals(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_BAM)
	good := ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 46))

	if err := m.Receive(good[:13]); !errors.Is(err, ErrRunt) {
		t.Errorf("13 bytes: err %v", err)
	}
	if got := m.Read32(RUC); got != 1 {
		t.Errorf("RUC = %d", got)
	}
	m.Write32(RCTL, 0)
	if err := m.Receive(good); !errors.Is(err, ErrRxDisabled) {
		t.Errorf("RCTL.EN clear: err %v", err)
	}
	m.Write32(RCTL, RCTL_EN)
	m.SetLink(false)
	if err := m.Receive(good); !errors.Is(err, ErrLinkDown) {
		t.Errorf("link down: err %v", err)
	}
	if got := m.Read32(TPR); got != 1 {
		t.Errorf("TPR = %d: only the runt reached the enabled receiver", got)
	}
	st := m.Stats()
	if st.RxRunt != 1 || st.RxDisabled != 1 || st.RxLinkDown != 1 || st.RxDropped != 3 || st.RxFrames != 0 {
		t.Errorf("stats %+v", st)
	}
	if m.Read32(RDH) != 0 || r.desc(0).status != 0 {
		t.Error("a refused frame touched the ring")
	}
}

func TestRxOverrunWhenRingFull(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_SECRC)
	m.Write32(IMS, ICR_RXO)
	calls, causes := countIRQ(m)
	frame := ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 46))
	for i := range 7 { // RDT = 7: descriptors 0-6 belong to the device
		if err := m.Receive(frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if got := m.Read32(RDH); got != 7 {
		t.Fatalf("RDH = %d, want 7 = RDT", got)
	}
	err := m.Receive(frame)
	if !errors.Is(err, ErrNoDescriptors) {
		t.Fatalf("full ring: err %v", err)
	}
	if *calls != 1 || *causes&ICR_RXO == 0 {
		t.Errorf("RXO interrupt: %d calls, causes %#x", *calls, *causes)
	}
	if got := m.Read32(MPC); got != 1 {
		t.Errorf("MPC = %d", got)
	}
	if got := m.Read32(RNBC); got != 1 {
		t.Errorf("RNBC = %d", got)
	}
	if got := m.Read32(GPRC); got != 7 {
		t.Errorf("GPRC = %d: missed packets are not good packets", got)
	}
	if r.desc(7).status != 0 || m.Read32(RDH) != 7 {
		t.Error("the missed frame touched the ring")
	}
	m.Write32(RDT, 2) // the driver returns descriptors 7, 0 and 1
	for range 3 {
		if err := m.Receive(frame); err != nil {
			t.Fatalf("after refill: %v", err)
		}
	}
	if got := m.Read32(RDH); got != 2 {
		t.Errorf("RDH after wrap = %d, want 2", got)
	}
}

func TestRxMultiDescriptorNeedsAllBuffers(t *testing.T) {
	m := newManual(t)
	setupRx(t, m, 8, 256, RCTL_EN|RCTL_SECRC|RCTL_BSIZE_256)
	m.Write32(RDT, 2) // two free descriptors
	err := m.Receive(ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 600)))
	if !errors.Is(err, ErrNoDescriptors) || m.Read32(RDH) != 0 {
		t.Fatalf("a 3-buffer frame with 2 free: err %v, RDH %d", err, m.Read32(RDH))
	}
}

func TestRxDescriptorMinimumThreshold(t *testing.T) {
	m := newManual(t)
	setupRx(t, m, 16, 2048, RCTL_EN|RCTL_SECRC|RCTL_RDMTS_HALF)
	frame := ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 46))
	// 15 free descriptors; RXDMT0 when the free count falls to 16/2 = 8.
	for i := 1; i <= 9; i++ {
		if err := m.Receive(frame); err != nil {
			t.Fatal(err)
		}
		set := m.Read32(ICR)&ICR_RXDMT0 != 0
		if want := i == 7; set != want {
			t.Errorf("after %d frames (%d free): RXDMT0 = %t", i, 15-i, set)
		}
	}
}

func TestRxBadRingAndBuffers(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_SECRC)
	frame := ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 46))

	// A buffer address outside the arena: the descriptor completes with
	// RXE and length 0 so the driver sees the loss; nothing is written.
	binary.LittleEndian.PutUint64(r.ring[0:], 0xDEAD_0000)
	if err := m.Receive(frame); !errors.Is(err, ErrDMA) {
		t.Fatalf("bad buffer: err %v", err)
	}
	if d := r.desc(0); d.status&sDD == 0 || d.errors != eRXE || d.length != 0 {
		t.Errorf("bad buffer write-back %+v", d)
	}
	if st := m.Stats(); st.RxDMAErrors != 1 || st.RxFrames != 0 {
		t.Errorf("stats %+v", st)
	}

	for _, bad := range []struct {
		name string
		off  uint32
		val  uint32
	}{
		{"RDLEN 0", RDLEN, 0},
		{"ring outside arena", RDBAL, 0x100},
		{"RDT past the ring", RDT, 8},
		{"RDH past the ring", RDH, 100},
	} {
		m2 := newManual(t)
		setupRx(t, m2, 8, 2048, RCTL_EN|RCTL_SECRC)
		m2.Write32(bad.off, bad.val)
		if err := m2.Receive(frame); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: err %v", bad.name, err)
		}
		if st := m2.Stats(); st.RingErrors != 1 || st.RxBadConfig != 1 {
			t.Errorf("%s: stats %+v", bad.name, st)
		}
	}
}

func TestRxChecksumOffload(t *testing.T) {
	udpFrame := ethFrame(testMAC, testMAC, 0x0800, ipv4(17, udp(bytesOf(40, 1))))
	tcpFrame := ethFrame(testMAC, testMAC, 0x0800, ipv4(6, tcp(bytesOf(33, 2))))
	badIP := bytes.Clone(udpFrame)
	badIP[14+10] ^= 0xFF
	badUDP := bytes.Clone(udpFrame)
	badUDP[len(badUDP)-1] ^= 0x01
	badTCP := bytes.Clone(tcpFrame)
	badTCP[14+20+16] ^= 0x10
	zeroUDP := bytes.Clone(udpFrame)
	zeroUDP[14+20+6], zeroUDP[14+20+7] = 0, 0
	frag := ethFrame(testMAC, testMAC, 0x0800, ipv4(17, udp(bytesOf(8, 1))))
	frag[14+6] = 0x20 // MF
	binary.BigEndian.PutUint16(frag[14+10:], 0)
	binary.BigEndian.PutUint16(frag[14+10:], inetChecksum(frag[14:34]))
	arp := ethFrame(broadcastMAC, testMAC, 0x0806, make([]byte, 28))

	for _, c := range []struct {
		name           string
		rxcsum         uint32
		frame          []byte
		status, errors uint8
	}{
		{"offload off", 0, udpFrame, sIXSM, 0},
		{"UDP good", RXCSUM_IPOFLD | RXCSUM_TUOFLD, udpFrame, sIPCS | sTCPCS, 0},
		{"TCP good", RXCSUM_IPOFLD | RXCSUM_TUOFLD, tcpFrame, sIPCS | sTCPCS, 0},
		{"IP header bad", RXCSUM_IPOFLD | RXCSUM_TUOFLD, badIP, sIPCS | sTCPCS, eIPE},
		{"UDP bad", RXCSUM_IPOFLD | RXCSUM_TUOFLD, badUDP, sIPCS | sTCPCS, eTCPE},
		{"TCP bad", RXCSUM_IPOFLD | RXCSUM_TUOFLD, badTCP, sIPCS | sTCPCS, eTCPE},
		{"IP only", RXCSUM_IPOFLD, badUDP, sIPCS, 0},
		{"TCP/UDP only", RXCSUM_TUOFLD, badIP, sTCPCS, 0},
		{"UDP without checksum", RXCSUM_IPOFLD | RXCSUM_TUOFLD, zeroUDP, sIPCS, 0},
		{"IP fragment", RXCSUM_IPOFLD | RXCSUM_TUOFLD, frag, sIPCS, 0},
		{"not IP", RXCSUM_IPOFLD | RXCSUM_TUOFLD, arp, 0, 0},
	} {
		m := newManual(t)
		r := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_SECRC|RCTL_BAM)
		m.Write32(RXCSUM, c.rxcsum)
		if err := m.Receive(c.frame); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d := r.desc(0); d.status != sDD|sEOP|c.status || d.errors != c.errors {
			t.Errorf("%s: status %#x errors %#x, want %#x %#x", c.name, d.status, d.errors, sDD|sEOP|c.status, c.errors)
		}
	}
}

func TestRxPacketChecksumField(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_SECRC)
	m.Write32(RXCSUM, 14) // PCSS: start after the Ethernet header
	frame := ethFrame(testMAC, testMAC, 0x0800, ipv4(17, udp(bytesOf(41, 5))))
	if err := m.Receive(frame); err != nil {
		t.Fatal(err)
	}
	// The packet checksum is the (uncomplemented) one's complement sum.
	if got, want := r.desc(0).csum, ^inetChecksum(frame[14:]); got != want {
		t.Errorf("packet checksum %#04x, want %#04x", got, want)
	}
}

func TestInjectRx(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 256, RCTL_EN|RCTL_BSIZE_256)
	calls, causes := countIRQ(m)
	m.Write32(IMS, ICR_RXT0)
	next := bytes.Clone(r.bufs[1])
	payload := bytesOf(300, 1) // longer than the 256-byte buffer
	if err := m.InjectRx(3000, sDD, eRXE, payload); err != nil {
		t.Fatal(err)
	}
	d := r.desc(0)
	if d.length != 3000 || d.status != sDD || d.errors != eRXE {
		t.Errorf("injected write-back %+v", d)
	}
	if !bytes.Equal(r.bufs[0], payload[:256]) || !bytes.Equal(r.bufs[1], next) {
		t.Error("payload not confined to one buffer")
	}
	if m.Read32(RDH) != 1 || *calls != 1 || *causes&ICR_RXT0 == 0 {
		t.Errorf("RDH %d, IRQs %d, causes %#x", m.Read32(RDH), *calls, *causes)
	}
	m.Write32(RDT, 1)
	if err := m.InjectRx(10, sDD|sEOP, 0, nil); !errors.Is(err, ErrNoDescriptors) {
		t.Errorf("full ring: err %v", err)
	}
}
