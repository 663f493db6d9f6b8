// Package pktgenlines reads what the unikernel prints on its console when it
// runs as a packet generator or a receive sink (boot option pktgen=, issue
// 22's contract): one line per event, the tag PKTGEN, the event, then
// space-separated key=value fields.
//
//	PKTGEN ready mode=tx nic=e1000 mac=52:54:00:12:34:56
//	PKTGEN start mode=tx size=1514
//	PKTGEN done mode=tx frames=N bytes=N wire_frames=N wire_bytes=N seconds=F dev_frames=N dev_bytes=N drops=N
//	PKTGEN sink frames=N bytes=N seconds=F dev_frames=N dev_bytes=N dev_missed=N errors=N
//
// A device without statistics registers reports -1 for the dev_ fields.
package pktgenlines

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Tag starts every line of the contract; the event follows it.
const Tag = "PKTGEN "

// Events, as they follow the tag.
const (
	EventReady = "ready"
	EventStart = "start"
	EventDone  = "done"
	EventSink  = "sink"
)

// Ready is the line printed once the NIC is up.
type Ready struct {
	Mode string // tx, tso or sink
	NIC  string // e1000 or virtio
	MAC  net.HardwareAddr
}

// Start is the line printed when the first frame is queued (tx, tso).
type Start struct {
	Mode string
	Size int
}

// Done is the line printed when a tx or tso run has ended. Frames and
// Bytes are what the driver accepted (a tso super-frame once), Wire* what
// went on the wire (segments with their headers; bytes without FCS), Dev*
// the device's own registers over the same interval (-1: none).
type Done struct {
	Mode                  string
	Frames, Bytes         int64
	WireFrames, WireBytes int64
	Seconds               float64
	DevFrames, DevBytes   int64
	Drops                 int64
}

// Sink is the line printed when the sink receives an end marker: what it
// counted since the previous marker (or since Ready).
type Sink struct {
	Frames, Bytes       int64
	Seconds             float64
	DevFrames, DevBytes int64
	DevMissed           int64
	Errors              int64
}

// Event is the event of a console line of the contract ("ready", "done",
// ...), or "" for any other line. The tag may follow other output on the
// same line.
func Event(line string) string {
	i := strings.Index(line, Tag)
	if i < 0 {
		return ""
	}
	ev, _, _ := strings.Cut(line[i+len(Tag):], " ")
	return ev
}

// ParseReady parses a ready line.
func ParseReady(line string) (Ready, error) {
	f, err := fields(line, EventReady, "mode", "nic", "mac")
	if err != nil {
		return Ready{}, err
	}
	mac, err := net.ParseMAC(f.s["mac"])
	if err != nil || len(mac) != 6 {
		return Ready{}, fmt.Errorf("pktgenlines: %q: mac: want XX:XX:XX:XX:XX:XX", line)
	}
	return Ready{Mode: f.s["mode"], NIC: f.s["nic"], MAC: mac}, nil
}

// ParseStart parses a start line.
func ParseStart(line string) (Start, error) {
	f, err := fields(line, EventStart, "mode", "size")
	if err != nil {
		return Start{}, err
	}
	return Start{Mode: f.s["mode"], Size: int(f.int("size"))}, f.err
}

// ParseDone parses a done line.
func ParseDone(line string) (Done, error) {
	f, err := fields(line, EventDone, "mode", "frames", "bytes", "wire_frames", "wire_bytes", "seconds", "dev_frames", "dev_bytes", "drops")
	if err != nil {
		return Done{}, err
	}
	d := Done{
		Mode: f.s["mode"], Frames: f.int("frames"), Bytes: f.int("bytes"),
		WireFrames: f.int("wire_frames"), WireBytes: f.int("wire_bytes"), Seconds: f.float("seconds"),
		DevFrames: f.int("dev_frames"), DevBytes: f.int("dev_bytes"), Drops: f.int("drops"),
	}
	return d, f.err
}

// ParseSink parses a sink line.
func ParseSink(line string) (Sink, error) {
	f, err := fields(line, EventSink, "frames", "bytes", "seconds", "dev_frames", "dev_bytes", "dev_missed", "errors")
	if err != nil {
		return Sink{}, err
	}
	s := Sink{
		Frames: f.int("frames"), Bytes: f.int("bytes"), Seconds: f.float("seconds"),
		DevFrames: f.int("dev_frames"), DevBytes: f.int("dev_bytes"), DevMissed: f.int("dev_missed"), Errors: f.int("errors"),
	}
	return s, f.err
}

// lineFields holds a line's key=value fields and the first error met
// converting one.
type lineFields struct {
	line string
	s    map[string]string
	err  error
}

// fields splits line, which must be of event ev, into its key=value fields
// and checks that every key of want is there. Unknown keys are allowed:
// the contract may grow.
func fields(line, ev string, want ...string) (*lineFields, error) {
	if got := Event(line); got != ev {
		return nil, fmt.Errorf("pktgenlines: %q: not a %s line", line, ev)
	}
	rest := line[strings.Index(line, Tag)+len(Tag)+len(ev):]
	f := &lineFields{line: line, s: map[string]string{}}
	for _, w := range strings.Fields(rest) {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("pktgenlines: %q: %q is not key=value", line, w)
		}
		f.s[k] = v
	}
	for _, k := range want {
		if _, ok := f.s[k]; !ok {
			return nil, fmt.Errorf("pktgenlines: %q: no %s=", line, k)
		}
	}
	return f, nil
}

// int is field k as a decimal integer (-1 allowed: "none").
func (f *lineFields) int(k string) int64 {
	n, err := strconv.ParseInt(f.s[k], 10, 64)
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("pktgenlines: %q: %s=%q: want an integer", f.line, k, f.s[k])
	}
	return n
}

// float is field k as a decimal number.
func (f *lineFields) float(k string) float64 {
	x, err := strconv.ParseFloat(f.s[k], 64)
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("pktgenlines: %q: %s=%q: want a number", f.line, k, f.s[k])
	}
	return x
}
