package model

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// udpFrameForIC builds an Ethernet/IPv4/UDP frame whose UDP checksum field
// holds the pseudo-header sum, as software prepares it for the legacy IC
// offload (3.3.3: software backs out what the device must not sum).
func udpFrameForIC(payload []byte) (frame, want []byte) {
	want = ethFrame(broadcastMAC, testMAC, 0x0800, ipv4(17, udp(payload)))
	frame = bytes.Clone(want)
	ps := ^inetChecksum(pseudoHeader(17, 8+len(payload)))
	binary.BigEndian.PutUint16(frame[14+20+6:], ps)
	return frame, want
}

func TestTxGatherChecksumWriteBack(t *testing.T) {
	m := newManual(t)
	r := setupTx(t, m, 8, TCTL_EN|TCTL_PSP)
	got := captureTx(m)
	frame, want := udpFrameForIC(bytesOf(30, 3)) // 72 bytes

	// Three buffers: Ethernet header, IP header, UDP header + payload.
	parts := [][]byte{frame[:14], frame[14:34], frame[34:]}
	var addrs []uint64
	for _, p := range parts {
		buf, addr := alloc(t, m, len(p), 1)
		copy(buf, p)
		addrs = append(addrs, addr)
	}
	r.put(0, addrs[0], 14, 0, tRS, 34)                // CSS in the first descriptor
	r.put(1, addrs[1], 20, 0, 0, 0)                   // no RS: no write-back
	r.put(2, addrs[2], 38, 40, tEOP|tIFCS|tIC|tRS, 0) // CSO with EOP
	m.Write32(TDT, 3)

	if len(*got) != 1 {
		t.Fatalf("%d frames sent, want 1", len(*got))
	}
	if !bytes.Equal((*got)[0], want) {
		t.Fatalf("frame with inserted checksum\n got %x\nwant %x", (*got)[0], want)
	}
	u := (*got)[0][34:]
	if inetChecksum(pseudoHeader(17, len(u)), u) != 0 {
		t.Fatal("inserted UDP checksum does not verify")
	}
	if s := []uint8{r.status(0), r.status(1), r.status(2)}; s[0] != 1 || s[1] != 0 || s[2] != 1 {
		t.Fatalf("DD write-back %v, want only the RS descriptors", s)
	}
	if h := m.Read32(TDH); h != 3 {
		t.Fatalf("TDH = %d", h)
	}
	if icr := m.Read32(ICR); icr != ICR_TXDW|ICR_TXQE {
		t.Fatalf("ICR = %#x, want TXDW|TXQE", icr)
	}
	for _, c := range []struct {
		name      string
		off, want uint32
	}{{"GPTC", GPTC, 1}, {"TPT", TPT, 1}, {"GOTCL", GOTCL, 76}, {"TOTL", TOTL, 76}, {"BPTC", BPTC, 1}, {"PTC127", PTC127, 1}} {
		if v := m.Read32(c.off); v != c.want {
			t.Errorf("%s = %d, want %d", c.name, v, c.want)
		}
	}
	if st := m.Stats(); st.TxFrames != 1 || st.TxBytes != 72 || st.TxDescriptors != 3 || st.TDTWrites != 2 { // one TDT write in setupTx
		t.Errorf("stats %+v", st)
	}
}

func TestTxPadsShortPackets(t *testing.T) {
	for _, c := range []struct {
		tctl uint32
		want int
	}{{TCTL_EN | TCTL_PSP, 60}, {TCTL_EN, 20}} {
		m := newManual(t)
		r := setupTx(t, m, 8, c.tctl)
		got := captureTx(m)
		buf, addr := alloc(t, m, 20, 1)
		copy(buf, bytesOf(20, 1))
		r.put(0, addr, 20, 0, tEOP|tIFCS, 0)
		m.Write32(TDT, 1)
		if len(*got) != 1 || len((*got)[0]) != c.want {
			t.Fatalf("TCTL %#x: sent %d frames, len %d; want len %d", c.tctl, len(*got), len((*got)[0]), c.want)
		}
		f := (*got)[0]
		if !bytes.Equal(f[:20], buf) || !bytes.Equal(f[20:], make([]byte, c.want-20)) {
			t.Errorf("TCTL %#x: padding not zeros", c.tctl)
		}
	}
}

func TestTxPacketSpansTDTWrites(t *testing.T) {
	m := newManual(t)
	r := setupTx(t, m, 8, TCTL_EN)
	got := captureTx(m)
	a, aAddr := alloc(t, m, 30, 1)
	b, bAddr := alloc(t, m, 40, 1)
	copy(a, bytesOf(30, 1))
	copy(b, bytesOf(40, 100))
	r.put(0, aAddr, 30, 0, 0, 0)
	m.Write32(TDT, 1)
	if len(*got) != 0 || m.Read32(TDH) != 1 {
		t.Fatal("a packet without EOP went out")
	}
	r.put(1, 0, 0, 0, 0, 0) // a null descriptor inside the packet adds nothing
	r.put(2, bAddr, 40, 0, tEOP|tIFCS, 0)
	m.Write32(TDT, 3)
	if len(*got) != 1 || !bytes.Equal((*got)[0], append(bytes.Clone(a), b...)) {
		t.Fatalf("gathered frame wrong: %d frames", len(*got))
	}
}

func TestTxWaitsForEnable(t *testing.T) {
	m := newManual(t)
	r := setupTx(t, m, 8, 0)
	got := captureTx(m)
	_, addr := alloc(t, m, 60, 1)
	r.put(0, addr, 60, 0, tEOP|tIFCS|tRS, 0)
	m.Write32(TDT, 1)
	if len(*got) != 0 || m.Read32(TDH) != 0 || r.status(0) != 0 {
		t.Fatal("transmitted with TCTL.EN clear")
	}
	m.Write32(TCTL, TCTL_EN)
	if len(*got) != 1 || m.Read32(TDH) != 1 {
		t.Fatal("queued descriptors not sent when TCTL.EN was set")
	}
}

func TestTxLinkDownDropsFrames(t *testing.T) {
	m := newManual(t)
	r := setupTx(t, m, 8, TCTL_EN)
	got := captureTx(m)
	m.SetLink(false)
	_, addr := alloc(t, m, 60, 1)
	r.put(0, addr, 60, 0, tEOP|tIFCS|tRS, 0)
	m.Write32(TDT, 1)
	if len(*got) != 0 {
		t.Fatal("sent with the cable pulled")
	}
	if r.status(0)&1 == 0 || m.Read32(TDH) != 1 {
		t.Fatal("descriptor not consumed: the driver could not reclaim it")
	}
	if st := m.Stats(); st.TxLinkDown != 1 || st.TxDropped != 1 {
		t.Errorf("stats %+v", st)
	}
	if m.Read32(GPTC) != 0 {
		t.Error("GPTC counted a frame that was not sent")
	}
}

func TestTxMalformedDescriptors(t *testing.T) {
	type desc struct {
		addr        int // 0: null, 1: good buffer, 2: outside the arena
		length      int
		cso, cmd    uint8
		css         uint8
		extendedTyp int // DTYP in CSO's high nibble when DEXT is set
	}
	for _, c := range []struct {
		name  string
		descs []desc
		sent  int
		check func(ModelStats) bool
	}{
		{"TCP/IP data descriptor, no offload", []desc{{addr: 1, length: 60, cmd: tEOP | tRS | tDEXT, extendedTyp: 1}}, 1,
			func(s ModelStats) bool { return s.TxUnsupported == 0 && s.TxDropped == 0 }},
		{"context descriptor, then a good packet", []desc{{addr: 1, length: 60, cmd: tRS | tDEXT}, {addr: 1, length: 60, cmd: tEOP | tRS}}, 1,
			func(s ModelStats) bool { return s.TxContexts == 1 && s.TxDropped == 0 }},
		{"unknown descriptor type", []desc{{addr: 1, length: 60, cmd: tEOP | tRS | tDEXT, extendedTyp: 2}}, 0,
			func(s ModelStats) bool { return s.TxUnsupported == 1 && s.TxDropped == 1 }},
		{"legacy and TCP/IP data descriptors in one packet", []desc{{addr: 1, length: 30, cmd: tRS}, {addr: 1, length: 30, cmd: tEOP | tRS | tDEXT, extendedTyp: 1}}, 0,
			func(s ModelStats) bool { return s.TxBadSequence == 1 && s.TxDropped == 1 }},
		{"context descriptor inside a packet", []desc{{addr: 1, length: 30, cmd: tRS}, {addr: 1, length: 30, cmd: tRS | tDEXT}, {addr: 1, length: 30, cmd: tEOP | tRS}}, 0,
			func(s ModelStats) bool { return s.TxBadSequence == 1 && s.TxDropped == 1 }},
		{"buffer outside the arena", []desc{{addr: 1, length: 20, cmd: tRS}, {addr: 2, length: 40, cmd: tEOP | tRS}}, 0,
			func(s ModelStats) bool { return s.TxDMAErrors == 1 && s.TxDropped == 1 }},
		{"packet over 16288 bytes", []desc{{addr: 1, length: 9000, cmd: tRS}, {addr: 1, length: 9000, cmd: tEOP | tRS}}, 0,
			func(s ModelStats) bool { return s.TxOversize == 1 && s.TxDropped == 1 }},
		{"null descriptors only", []desc{{addr: 0, length: 60, cmd: tRS}, {addr: 1, length: 0, cmd: tEOP | tRS}}, 0,
			func(s ModelStats) bool { return s.TxNullPackets == 1 && s.TxDropped == 0 }},
		{"IC with CSO past the end", []desc{{addr: 1, length: 60, cso: 59, cmd: tEOP | tIC | tRS}}, 1,
			func(s ModelStats) bool { return s.TxChecksumSkips == 1 }},
		{"IC with CSS past the end", []desc{{addr: 1, length: 60, cso: 20, css: 60, cmd: tEOP | tIC | tRS}}, 1,
			func(s ModelStats) bool { return s.TxChecksumSkips == 1 }},
	} {
		m := newManual(t)
		r := setupTx(t, m, 8, TCTL_EN)
		got := captureTx(m)
		buf, good := alloc(t, m, 9000, 16)
		copy(buf, bytesOf(9000, 1))
		for i, d := range c.descs {
			addr := map[int]uint64{0: 0, 1: good, 2: 0x7000_0000}[d.addr]
			r.put(i, addr, d.length, d.cso|uint8(d.extendedTyp)<<4, d.cmd, d.css)
		}
		m.Write32(TDT, uint32(len(c.descs)))
		if len(*got) != c.sent {
			t.Errorf("%s: %d frames sent, want %d", c.name, len(*got), c.sent)
		}
		if c.name[:2] == "IC" && len(*got) == 1 && !bytes.Equal((*got)[0], buf[:60]) {
			t.Errorf("%s: out-of-range IC modified the frame", c.name)
		}
		for i := range c.descs {
			if r.status(i)&1 == 0 {
				t.Errorf("%s: descriptor %d not written back", c.name, i)
			}
		}
		if m.Read32(TDH) != uint32(len(c.descs)) {
			t.Errorf("%s: ring not consumed", c.name)
		}
		if st := m.Stats(); !c.check(st) {
			t.Errorf("%s: stats %+v", c.name, st)
		}
	}
}

func TestTxBadRing(t *testing.T) {
	for _, bad := range []struct {
		name     string
		off, val uint32
	}{
		{"TDT past the ring", TDT, 9},
		{"TDH past the ring", TDH, 30},
		{"ring outside the arena", TDBAL, 0x40},
	} {
		m := newManual(t)
		setupTx(t, m, 8, TCTL_EN)
		got := captureTx(m)
		m.Write32(bad.off, bad.val)
		m.Write32(TDT, m.Read32(TDT)) // kick
		if len(*got) != 0 {
			t.Errorf("%s: sent %d frames", bad.name, len(*got))
		}
		if st := m.Stats(); st.RingErrors == 0 {
			t.Errorf("%s: not counted", bad.name)
		}
	}
}

// TestTxHandlerReentry sends from inside the transmit handler, as a
// loopback wire into a stack that answers at once does. Frames must keep
// ring order and the model must not deadlock.
func TestTxHandlerReentry(t *testing.T) {
	m := newManual(t)
	r := setupTx(t, m, 8, TCTL_EN)
	rx := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_SECRC)
	var order []byte
	bufs := make([]uint64, 3)
	for i := range bufs {
		b, a := alloc(t, m, 60, 1)
		copy(b, ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 46)))
		b[14] = 'A' + byte(i)
		bufs[i] = a
	}
	m.SetTransmitHandler(func(f []byte) {
		order = append(order, f[14])
		if err := m.Receive(f); err != nil { // loop back into our own ring
			t.Error(err)
		}
		if f[14] == 'A' {
			r.put(2, bufs[2], 60, 0, tEOP, 0)
			m.Write32(TDT, 3)
		}
	})
	r.put(0, bufs[0], 60, 0, tEOP, 0)
	r.put(1, bufs[1], 60, 0, tEOP, 0)
	m.Write32(TDT, 2)
	if string(order) != "ABC" {
		t.Fatalf("wire order %q, want ABC", order)
	}
	if rx.bufs[2][14] != 'C' || m.Read32(RDH) != 3 {
		t.Fatal("looped-back frames not received in order")
	}
}
