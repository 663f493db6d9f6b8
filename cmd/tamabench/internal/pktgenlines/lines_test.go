package pktgenlines

import (
	"strings"
	"testing"
)

func TestParseLines(t *testing.T) {
	r, err := ParseReady("PKTGEN ready mode=sink nic=e1000 mac=52:54:00:12:34:56")
	if err != nil || r.Mode != "sink" || r.NIC != "e1000" || r.MAC.String() != "52:54:00:12:34:56" {
		t.Errorf("ready: %+v %v", r, err)
	}
	s, err := ParseStart("PKTGEN start mode=tso size=65160")
	if err != nil || s != (Start{Mode: "tso", Size: 65160}) {
		t.Errorf("start: %+v %v", s, err)
	}
	d, err := ParseDone("PKTGEN done mode=tx frames=10 bytes=15140 wire_frames=10 wire_bytes=15140 seconds=5.002 dev_frames=-1 dev_bytes=-1 drops=3")
	want := Done{Mode: "tx", Frames: 10, Bytes: 15140, WireFrames: 10, WireBytes: 15140, Seconds: 5.002, DevFrames: -1, DevBytes: -1, Drops: 3}
	if err != nil || d != want {
		t.Errorf("done: %+v %v", d, err)
	}
	k, err := ParseSink("PKTGEN sink frames=7 bytes=420 seconds=0.100 dev_frames=7 dev_bytes=448 dev_missed=0 errors=1")
	if err != nil || k != (Sink{Frames: 7, Bytes: 420, Seconds: 0.1, DevFrames: 7, DevBytes: 448, Errors: 1}) {
		t.Errorf("sink: %+v %v", k, err)
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
		if got := Event(line); got != want {
			t.Errorf("Event(%q) = %q, want %q", line, got, want)
		}
	}
	if _, err := ParseSink("noise PKTGEN sink frames=1 bytes=60 seconds=1.000 dev_frames=1 dev_bytes=64 dev_missed=0 errors=0"); err != nil {
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
		{"PKTGEN start mode=tx", "no size=", func(l string) error { _, err := ParseStart(l); return err }},
		{"PKTGEN start mode=tx size=big", "want an integer", func(l string) error { _, err := ParseStart(l); return err }},
		{"PKTGEN ready mode=tx nic=e1000 mac=zz", "mac", func(l string) error { _, err := ParseReady(l); return err }},
		{"PKTGEN done mode=tx frames=1", "no bytes=", func(l string) error { _, err := ParseDone(l); return err }},
		{"PKTGEN sink frames=1 bytes=2 seconds=x dev_frames=1 dev_bytes=1 dev_missed=0 errors=0", "want a number", func(l string) error { _, err := ParseSink(l); return err }},
		{"PKTGEN sink frames", "not key=value", func(l string) error { _, err := ParseSink(l); return err }},
		{"PKTGEN done mode=tx", "not a sink line", func(l string) error { _, err := ParseSink(l); return err }},
	} {
		err := c.parse(c.line)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.line) {
			t.Errorf("%q: got %v, want an error naming the line and %q", c.line, err, c.want)
		}
	}
}
