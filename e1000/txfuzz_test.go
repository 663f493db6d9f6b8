package e1000

import (
	"bytes"
	"encoding/binary"
	"testing"

	"tamanet/txframe"
)

// FuzzTransmitOffload offers the driver batches of frames, each a TCP/IPv4
// frame of fuzzed size or fuzzed bytes, in fuzzed pieces, with a fuzzed
// offload request (valid or not), on a small ring. The driver must consume
// every frame, count it as queued or dropped for a reason, never hand the
// device a descriptor sequence or context it refuses, and fill no more
// descriptors than the ring has. Every valid segmentation request of a
// well-formed frame must come out as segments whose checksums verify and
// whose payloads add up to the frame's.
func FuzzTransmitOffload(f *testing.F) {
	// tcp frame of 3000 payload bytes, MSS 1000, correct offsets.
	f.Add([]byte{0, 0x0B, 0xB8, 0x03, 0xE8, 14, 34, 66, 0, 1, 40})
	// garbage bytes, checksum offload with offsets past the end.
	f.Add([]byte{1, 0x00, 0x50, 0x00, 0x00, 14, 200, 0, 7, 1, 0, 9, 9, 9})
	// UDP segmentation request.
	f.Add([]byte{2, 0x10, 0x00, 0x05, 0xA0, 14, 34, 66, 0, 2, 100})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newRig(t, Config{TxDescriptors: 32})
		var segs [][]byte
		r.m.SetTransmitHandler(func(fr []byte) { segs = append(segs, bytes.Clone(fr)) })
		take := func(n int) []byte {
			n = min(n, len(data))
			b := data[:n]
			data = data[n:]
			return b
		}
		type want struct {
			payload []byte // the TCP payload a valid TSO frame must come out as
		}
		var fs []txframe.Frame
		var wants []want
		for len(data) >= 11 && len(fs) < 8 {
			h := take(11)
			size := int(binary.BigEndian.Uint16(h[1:])) % 20000
			o := txframe.Offload{L3Start: uint16(h[5]), L4Start: uint16(h[6]), HeaderLen: uint16(h[7]), MSS: binary.BigEndian.Uint16(h[3:]) % 3000}
			switch h[9] % 3 {
			case 0:
				o.L4 = txframe.L4None
			case 1:
				o.L4 = txframe.L4TCP
			case 2:
				o.L4 = txframe.L4UDP
			}
			o.IPv6 = h[8]&1 == 1
			var fr []byte
			w := want{}
			if h[0]%2 == 0 {
				fr = tcpFrame(size, 1000, 0x18, 7)
				if o.L4 == txframe.L4TCP && !o.IPv6 && o.L3Start == 14 && o.L4Start == 34 &&
					o.HeaderLen == 34+tcpHdrLen && o.MSS >= 64 && size > int(o.MSS) && len(fr) <= r.d.tsoMaxFrame() {
					w.payload = fr[34+tcpHdrLen:]
				}
			} else {
				fr = append(frame(peerMAC, ethHeaderLen, 0), take(size)...)
			}
			// Cut into pieces at fuzzed points.
			var parts [][]byte
			for rest := fr; len(rest) > 0; {
				cut := len(rest)
				if b := take(1); len(b) == 1 && b[0] != 0 {
					cut = min(cut, int(b[0])*13)
				}
				parts, rest = append(parts, rest[:cut]), rest[cut:]
			}
			fs = append(fs, txframe.Frame{Parts: parts, Offload: o})
			wants = append(wants, w)
		}
		// One frame per call, so each frame's segments are known.
		for i := range fs {
			before := len(segs)
			if k := r.d.Transmit(fs[i : i+1]); k != 1 {
				t.Fatalf("frame %d (%d bytes, %+v) not consumed on a running device", i, fs[i].Len(), fs[i].Offload)
			}
			if wants[i].payload != nil {
				checkTSO(t, segs[before:], wants[i].payload)
			}
			r.drain()
		}
		s := r.d.Stats().TX
		drops := s.DropOversize + s.DropRunt + s.DropBadOffload + s.DropExceedsRing + s.DropNoCarrier
		if s.Queued+drops != uint64(len(fs)) || s.Packets != s.Queued {
			t.Errorf("%d frames, tx stats %+v", len(fs), s)
		}
		ms := r.m.Stats()
		if ms.TxTSOFailed+ms.TxBadSequence+ms.TxUnsupported+ms.TxDMAErrors+ms.TxOversize != 0 {
			t.Errorf("the device refused what the driver queued: %+v", ms)
		}
		if ms.TxTSOContexts != s.TSO || ms.TxFrames != s.Segments {
			t.Errorf("device segmented %d frames into %d, driver counted %d into %d", ms.TxTSOContexts, ms.TxFrames, s.TSO, s.Segments)
		}
	})
}

// checkTSO checks the segments one TSO frame became, sent alone by one
// Transmit call: every checksum verifies and the payloads, in order, are
// the frame's.
func checkTSO(t *testing.T, segs [][]byte, payload []byte) {
	t.Helper()
	var got []byte
	for _, s := range segs {
		_, _, p := wireSegment(t, s)
		got = append(got, p...)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("%d segments carry %d payload bytes, want %d as sent", len(segs), len(got), len(payload))
	}
}
