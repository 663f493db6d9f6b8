package pktgen_test

import (
	"strings"
	"testing"
	"time"

	"tamanet/pktgen"
)

// transmit runs spec on n and checks the report against the wire.
func transmit(t *testing.T, n *nic, spec pktgen.TxSpec) pktgen.TxReport {
	t.Helper()
	spec.Flow = flow
	var start string
	r, err := n.gen.Transmit(spec, func(line string) { start = line })
	if err != nil {
		t.Fatal(err)
	}
	t.Log(start)
	t.Log(r)
	if want := pktgen.StartLine(spec.Mode, r.Size); start != want {
		t.Errorf("start line %q, want %q", start, want)
	}
	if r.Frames == 0 || r.Delta.TxDrops != 0 {
		t.Fatalf("frames %d, drops %d", r.Frames, r.Delta.TxDrops)
	}
	if got := n.wire.frames.Load(); got != r.WireFrames {
		t.Errorf("wire_frames %d, the model sent %d", r.WireFrames, got)
	}
	if got := n.wire.bytes.Load(); got != r.WireBytes {
		t.Errorf("wire_bytes %d, the model sent %d", r.WireBytes, got)
	}
	if !strings.HasPrefix(r.String(), "PKTGEN done mode="+spec.Mode.String()+" ") {
		t.Errorf("done line %q", r)
	}
	return r
}

func TestTxE1000(t *testing.T) {
	for _, size := range []int{60, 1514} {
		n, m, _ := newE1000(t)
		r := transmit(t, n, pktgen.TxSpec{Mode: pktgen.ModeTx, Size: size, Duration: 200 * time.Millisecond})
		if r.WireFrames != r.Frames || r.Bytes != r.Frames*uint64(size) {
			t.Errorf("size %d: %+v", size, r)
		}
		// GPTC counts every frame the model sent; GOTC their octets with
		// the FCS.
		if r.Delta.DevTxFrames != r.Frames || r.Delta.DevTxBytes != r.Bytes+4*r.Frames {
			t.Errorf("size %d: device counted %d frames, %d bytes; report %+v", size, r.Delta.DevTxFrames, r.Delta.DevTxBytes, r)
		}
		if s := m.Stats(); s.TxFrames != r.Frames {
			t.Errorf("size %d: model TxFrames %d, frames %d", size, s.TxFrames, r.Frames)
		}
	}
}

func TestTSOE1000(t *testing.T) {
	n, m, _ := newE1000(t)
	r := transmit(t, n, pktgen.TxSpec{Mode: pktgen.ModeTSO, Duration: 200 * time.Millisecond})
	if r.Size != pktgen.DefaultTSOPayload || r.WireFrames != 45*r.Frames {
		t.Errorf("report %+v: want 45 segments of each %d-byte payload", r, pktgen.DefaultTSOPayload)
	}
	s := m.Stats()
	if s.TxTSOContexts != r.Frames || s.TxTSOSegments != r.WireFrames {
		t.Errorf("model segmented %d super-frames into %d; report %+v", s.TxTSOContexts, s.TxTSOSegments, r)
	}
	if r.Delta.DevTxFrames != r.WireFrames {
		t.Errorf("GPTC %d, wire_frames %d", r.Delta.DevTxFrames, r.WireFrames)
	}
}

func TestTxVirtio(t *testing.T) {
	for _, spec := range []pktgen.TxSpec{
		{Mode: pktgen.ModeTx, Size: 60},
		{Mode: pktgen.ModeTx},
		{Mode: pktgen.ModeTSO, Size: 10000}, // 7 segments, the last short
	} {
		n, m, _ := newVirtio(t)
		spec.Duration = 200 * time.Millisecond
		r := transmit(t, n, spec)
		if s := m.Stats(); s.TxFrames != r.Frames {
			t.Errorf("%v: the model took %d frames, report %+v", spec.Mode, s.TxFrames, r)
		}
		if r.Delta.Device || !strings.Contains(r.String(), " dev_frames=-1 dev_bytes=-1 ") {
			t.Errorf("virtio-net has no statistics registers: %s", r)
		}
	}
}

func TestTxValidates(t *testing.T) {
	n, _, _ := newE1000(t)
	for _, spec := range []pktgen.TxSpec{
		{Mode: pktgen.ModeTx, Size: 59},
		{Mode: pktgen.ModeTx, Size: 1515},
		{Mode: pktgen.ModeTSO, Size: pktgen.MaxTSOPayload + 1},
		{Mode: pktgen.ModeSink},
	} {
		spec.Flow, spec.Duration = flow, time.Millisecond
		if r, err := n.gen.Transmit(spec, nil); err == nil {
			t.Errorf("%+v: no error, %v", spec, r)
		}
	}
}
