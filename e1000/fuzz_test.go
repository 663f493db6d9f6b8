package e1000

import (
	"encoding/binary"
	"testing"
)

// FuzzRxPath drives the receive path with arbitrary descriptor write-backs
// (InjectRx: any length, status and error bits; DD is always set, as the
// device sets it on every descriptor it returns), real frames of arbitrary
// size and content, and polls of arbitrary budget. The driver must never
// panic, never hand the stack more than one buffer or a frame it should
// have dropped, and its counters must add up with the device's.
func FuzzRxPath(f *testing.F) {
	f.Add([]byte{0, 0x08, 0x00, 0x01, 0x00, 4, 2, 10})
	f.Add([]byte{1, 0x05, 0xDC, 0, 1, 0x00, 0x3C, 1, 2, 64})
	f.Add([]byte{0, 0x0B, 0xB8, 0x03, 0x00, 0, 0, 0x00, 0x00, 0x03, 0xFF, 0, 3, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newRig(t, Config{RxDescriptors: 16, TxDescriptors: 8, NAPI: napiBudget(8)})
		r.keepRx = false
		delivered := 0
		r.d.Attach(func(fr []byte, _ bool) {
			r.onRx(fr, false)
			if len(fr) < ethHeaderLen || len(fr) > r.d.maxRxFrame {
				t.Errorf("delivered a %d-byte frame", len(fr))
			}
			delivered++
		}, nil, nil)
		take := func(n int) []byte {
			n = min(n, len(data))
			b := data[:n]
			data = data[n:]
			return b
		}
		for len(data) > 0 {
			switch op := take(1)[0]; op % 4 {
			case 0:
				h := take(5)
				if len(h) < 5 {
					return
				}
				length := binary.BigEndian.Uint16(h)
				payload := take(int(h[4]) * 8)
				_ = r.m.InjectRx(length, h[2]|RXD_STAT_DD, h[3], payload)
			case 1:
				h := take(3)
				if len(h) < 3 {
					return
				}
				n := int(binary.BigEndian.Uint16(h)) % 1600
				dst := [][6]byte{testMAC, broadcast, peerMAC}[int(h[2])%3]
				fr := frame(dst, max(n, ethHeaderLen), uint32(n))
				copy(fr[ethHeaderLen:], take(n))
				_ = r.m.Receive(fr)
			case 2:
				r.drain()
			case 3:
				r.d.Poll(int(op>>2)%70 + 1)
			}
		}
		r.drain()
		for r.d.Poll(64) > 0 {
		}
		s := r.d.Stats().RX
		rxAccounted(t, s)
		if s.Packets != uint64(delivered) {
			t.Errorf("%d packets counted, %d delivered", s.Packets, delivered)
		}
		if ms := r.m.Stats(); ms.RxDescriptors != s.Descriptors {
			t.Errorf("device wrote back %d descriptors, driver harvested %d", ms.RxDescriptors, s.Descriptors)
		}
	})
}
