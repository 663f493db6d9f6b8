package pktgen_test

import (
	"strings"
	"testing"
	"time"

	"tamanet/pktgen"
)

// TestLinesRoundTrip: every line the guest prints parses back to the
// figures it was made of, with and without device registers.
func TestLinesRoundTrip(t *testing.T) {
	mac := [6]byte{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}
	ready := pktgen.ReadyLine(pktgen.ModeSink, "virtio", mac)
	if r, err := pktgen.ParseReady(ready); err != nil || r != (pktgen.Ready{Mode: pktgen.ModeSink, NIC: "virtio", MAC: mac}) {
		t.Errorf("%q: %+v %v", ready, r, err)
	}
	start := pktgen.StartLine(pktgen.ModeTSO, 65000)
	if s, err := pktgen.ParseStart(start); err != nil || s != (pktgen.Started{Mode: pktgen.ModeTSO, Size: 65000}) {
		t.Errorf("%q: %+v %v", start, s, err)
	}
	for _, device := range []bool{true, false} {
		dev := func(v int64) int64 {
			if !device {
				return -1
			}
			return v
		}
		tx := pktgen.TxReport{
			Mode: pktgen.ModeTx, Size: 1514, Frames: 10, Bytes: 15140, WireFrames: 11, WireBytes: 15200,
			Elapsed: 5002 * time.Millisecond,
			Delta:   pktgen.Counters{Device: device, DevTxFrames: 12, DevTxBytes: 15300, TxDrops: 3, DevRxFrames: 99},
		}
		want := pktgen.TxDone{Mode: pktgen.ModeTx, Frames: 10, Bytes: 15140, WireFrames: 11, WireBytes: 15200,
			Seconds: 5.002, DevFrames: dev(12), DevBytes: dev(15300), Drops: 3}
		if d, err := pktgen.ParseDone(tx.String()); err != nil || d != want {
			t.Errorf("%q: %+v %v, want %+v", tx, d, err, want)
		}
		sink := pktgen.SinkReport{
			Frames: 7, Bytes: 420, Elapsed: 100 * time.Millisecond,
			Delta: pktgen.Counters{Device: device, DevRxFrames: 8, DevRxBytes: 448, DevRxMissed: 2, RxErrors: 1, DevTxFrames: 99},
		}
		wantSink := pktgen.SinkDone{Frames: 7, Bytes: 420, Seconds: 0.1, DevFrames: dev(8), DevBytes: dev(448), DevMissed: dev(2), Errors: 1}
		if s, err := pktgen.ParseSink(sink.String()); err != nil || s != wantSink {
			t.Errorf("%q: %+v %v, want %+v", sink, s, err, wantSink)
		}
	}
}

// TestEvent finds the tag after other output on the line (a console
// shared with the runtime's prints) and nowhere else.
func TestEvent(t *testing.T) {
	for line, want := range map[string]string{
		"PKTGEN ready mode=tx nic=virtio mac=52:54:00:12:34:56": "ready",
		"\x1b[0mPKTGEN sink frames=0":                           "sink",
		"PKTGEN done":                                           "done",
		"READY tamanet 10.0.2.15/24":                            "",
		"PKTGENX start":                                         "",
	} {
		if got := pktgen.Event(line); got != want {
			t.Errorf("Event(%q) = %q, want %q", line, got, want)
		}
	}
	if _, err := pktgen.ParseSink("noise PKTGEN sink frames=1 bytes=60 seconds=1.000 dev_frames=1 dev_bytes=64 dev_missed=0 errors=0"); err != nil {
		t.Error(err)
	}
}

// TestParseErrors: each malformed line is refused with a message naming
// the line and what is wrong.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		line, want string
		parse      func(string) error
	}{
		{"PKTGEN start mode=tx", "no size=", func(l string) error { _, err := pktgen.ParseStart(l); return err }},
		{"PKTGEN start mode=tx size=big", "want an integer", func(l string) error { _, err := pktgen.ParseStart(l); return err }},
		{"PKTGEN start mode=off size=60", "want tx, tso or sink", func(l string) error { _, err := pktgen.ParseStart(l); return err }},
		{"PKTGEN ready mode=tx nic=e1000 mac=zz", "mac", func(l string) error { _, err := pktgen.ParseReady(l); return err }},
		{"PKTGEN done mode=tx frames=1", "no bytes=", func(l string) error { _, err := pktgen.ParseDone(l); return err }},
		{"PKTGEN sink frames=1 bytes=2 seconds=x dev_frames=1 dev_bytes=1 dev_missed=0 errors=0", "want a number", func(l string) error { _, err := pktgen.ParseSink(l); return err }},
		{"PKTGEN sink frames", "not key=value", func(l string) error { _, err := pktgen.ParseSink(l); return err }},
		{"PKTGEN done mode=tx", "not a sink line", func(l string) error { _, err := pktgen.ParseSink(l); return err }},
	} {
		err := c.parse(c.line)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.line) {
			t.Errorf("%q: got %v, want an error naming the line and %q", c.line, err, c.want)
		}
	}
}
