package model

import (
	"encoding/binary"
	"testing"
)

// FuzzTxDescriptors writes arbitrary transmit descriptors, legacy, TCP/IP
// context and TCP/IP data with any command, option and context fields, into
// a ring whose buffers hold arbitrary bytes, and kicks the device. The model
// must consume every descriptor, write status back to every one asking for
// it, never put out a frame longer than the manual allows, and account for
// every packet it reached the end of: sent, dropped for a reason, or null.
func FuzzTxDescriptors(f *testing.F) {
	// A TSO context and one data descriptor with TSE, IXSM and TXSM.
	f.Add([]byte{0, 14, 24, 33, 0, 34, 50, 0, 0, 0xD0, 0x07, 0, cTCP | cIP | cTSE | cRS, 54, 0xE8, 0x03,
		1, 0x00, 0x10, 0, 0, 0x0A, 0x08, 0, tEOP | cTSE | cRS, pIXSM | pTXSM, 0, 0})
	// A checksum-only context and two data descriptors.
	f.Add([]byte{0, 0, 0, 0, 0, 34, 40, 0, 0, 0, 0, 0, cIP | cRS, 0, 0, 0,
		1, 0x00, 0x01, 0, 0, 0x3C, 0, 0, 0, pTXSM, 0, 0, 1, 0x40, 0x01, 0, 0, 0x20, 0, 0, tEOP | cRS, 0, 0, 0})
	// Legacy descriptors, one with IC.
	f.Add([]byte{2, 0x00, 0x00, 0, 0, 0x40, 0, 20, tEOP | tIC | tRS, 14, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const ringLen, bufLen = 64, 2 << 10
		m := New(Config{MAC: testMAC, ManualClock: true, MemSize: 1 << 20})
		r := setupTx(t, m, ringLen, TCTL_EN|TCTL_PSP)
		buf, bufAddr := alloc(t, m, bufLen, 16)
		for i := range buf {
			buf[i] = byte(i*7) ^ byte(len(data))
		}
		var maxFrame int
		frames := 0
		m.SetTransmitHandler(func(fr []byte) {
			frames++
			maxFrame = max(maxFrame, len(fr))
		})
		take := func(n int) []byte {
			n = min(n, len(data))
			b := data[:n]
			data = data[n:]
			return b
		}
		n, eops, rs := 0, 0, []int{}
		for len(data) > 0 && n < ringLen-1 {
			kind := take(1)[0]
			d := take(15)
			if len(d) < 15 {
				break
			}
			desc := r.ring[16*n : 16*n+16]
			switch kind % 3 {
			case 0: // a context descriptor: the fields as given
				copy(desc, d[:11])
				desc[8+2] &= 0x0F // DTYP 0000b
				desc[11] = d[11] | cDEXT
				desc[12], desc[13] = 0, d[12]
				// An MSS of a few bytes is legal but makes one packet
				// hundreds of thousands of segments: slow, not new.
				mss := max(binary.LittleEndian.Uint16(d[13:]), 64)
				binary.LittleEndian.PutUint16(desc[14:], mss)
			case 1, 2: // a data descriptor, TCP/IP or legacy
				off := int(binary.LittleEndian.Uint16(d[0:])) % bufLen
				length := int(binary.LittleEndian.Uint16(d[2:])) % (bufLen - off + 1)
				addr := bufAddr + uint64(off)
				if d[4] == 0xFF {
					addr = 0x7000_0000 // outside the arena
				}
				binary.LittleEndian.PutUint64(desc, addr)
				if kind%3 == 1 {
					binary.LittleEndian.PutUint32(desc[8:], uint32(length)|1<<20)
					desc[11] = d[5] | cDEXT
					desc[12], desc[13] = 0, d[6]
				} else {
					binary.LittleEndian.PutUint16(desc[8:], uint16(length))
					desc[10], desc[11], desc[12], desc[13] = d[5], d[6]&^tDEXT, 0, d[7]
				}
				if desc[11]&tEOP != 0 {
					eops++
				}
			}
			if desc[11]&tRS != 0 {
				rs = append(rs, n)
			}
			n++
		}
		m.Write32(TDT, uint32(n))

		if h := m.Read32(TDH); h != uint32(n) {
			t.Fatalf("TDH %d after TDT %d: descriptors left unconsumed", h, n)
		}
		for _, i := range rs {
			if r.status(i)&TXD_STAT_DD == 0 {
				t.Errorf("descriptor %d asked for status and got no DD", i)
			}
		}
		st := m.Stats()
		if uint64(frames) != st.TxFrames {
			t.Errorf("handler saw %d frames, stats say %d", frames, st.TxFrames)
		}
		if maxFrame > max(MaxTxPacket, TxFIFOSize) {
			t.Errorf("a %d-byte frame went out", maxFrame)
		}
		// Each EOP ends one packet: sent whole, sent as TSO segments,
		// dropped for a counted reason, or carrying no data.
		whole := st.TxFrames - st.TxTSOSegments
		if got := whole + st.TxTSOContexts + st.TxDropped + st.TxNullPackets; got != uint64(eops) {
			t.Errorf("%d packets ended, %d accounted for: %+v", eops, got, st)
		}
		if st.RingErrors != 0 {
			t.Errorf("ring errors on a good ring: %+v", st)
		}
	})
}
