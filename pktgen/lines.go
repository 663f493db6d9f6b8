package pktgen

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// The console lines (issue 22's contract) are written here and read back
// here, by the host side, so the two cannot drift apart: one line per
// event, Tag, the event, then space-separated key=value fields, integers
// in decimal and seconds with three decimals.
//
//	PKTGEN ready mode=tx nic=e1000 mac=52:54:00:12:34:56    (ReadyLine)
//	PKTGEN start mode=tx size=1514                          (StartLine)
//	PKTGEN done mode=tx frames=N bytes=N wire_frames=N wire_bytes=N seconds=F dev_frames=N dev_bytes=N drops=N    (TxReport)
//	PKTGEN sink frames=N bytes=N seconds=F dev_frames=N dev_bytes=N dev_missed=N errors=N    (SinkReport)
//
// A device without statistics registers reports -1 for the dev_ fields.

// Tag starts every console line; the event follows it.
const Tag = "PKTGEN "

// Events, as they follow the tag.
const (
	EventReady = "ready"
	EventStart = "start"
	EventDone  = "done"
	EventSink  = "sink"
)

// ReadyLine is the console line printed once the NIC is attached: nic
// names the device (e1000, virtio).
func ReadyLine(mode Mode, nic string, mac [6]byte) string {
	return fmt.Sprintf(Tag+EventReady+" mode=%s nic=%s mac=%02x:%02x:%02x:%02x:%02x:%02x",
		mode, nic, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
}

// StartLine is the console line printed as the first frame is queued.
func StartLine(mode Mode, size int) string {
	return fmt.Sprintf(Tag+EventStart+" mode=%s size=%d", mode, size)
}

// Ready is a ready line: the NIC is up.
type Ready struct {
	Mode Mode
	NIC  string // e1000 or virtio
	MAC  [6]byte
}

// Started is a start line: the first frame is queued (tx, tso).
type Started struct {
	Mode Mode
	Size int
}

// TxDone is a done line, a TxReport as printed: Frames and Bytes are what
// the driver accepted (a tso super-frame once), Wire* what went on the
// wire (segments with their headers; bytes without FCS), Dev* the
// device's own registers over the same interval (-1: none).
type TxDone struct {
	Mode                  Mode
	Frames, Bytes         int64
	WireFrames, WireBytes int64
	Seconds               float64
	DevFrames, DevBytes   int64
	Drops                 int64
}

// SinkDone is a sink line, a SinkReport as printed: what the sink counted
// since the previous end marker (or since ready).
type SinkDone struct {
	Frames, Bytes       int64
	Seconds             float64
	DevFrames, DevBytes int64
	DevMissed           int64
	Errors              int64
}

// Event is the event of a console line ("ready", "done", ...), or "" for
// any other line. The tag may follow other output on the same line.
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
	r := Ready{Mode: f.mode("mode"), NIC: f.s["nic"]}
	mac, err := net.ParseMAC(f.s["mac"])
	if err != nil || len(mac) != len(r.MAC) {
		return Ready{}, fmt.Errorf("pktgen: %q: mac: want XX:XX:XX:XX:XX:XX", line)
	}
	copy(r.MAC[:], mac)
	return r, f.err
}

// ParseStart parses a start line.
func ParseStart(line string) (Started, error) {
	f, err := fields(line, EventStart, "mode", "size")
	if err != nil {
		return Started{}, err
	}
	return Started{Mode: f.mode("mode"), Size: int(f.int("size"))}, f.err
}

// ParseDone parses a done line.
func ParseDone(line string) (TxDone, error) {
	f, err := fields(line, EventDone, "mode", "frames", "bytes", "wire_frames", "wire_bytes", "seconds", "dev_frames", "dev_bytes", "drops")
	if err != nil {
		return TxDone{}, err
	}
	d := TxDone{
		Mode: f.mode("mode"), Frames: f.int("frames"), Bytes: f.int("bytes"),
		WireFrames: f.int("wire_frames"), WireBytes: f.int("wire_bytes"), Seconds: f.float("seconds"),
		DevFrames: f.int("dev_frames"), DevBytes: f.int("dev_bytes"), Drops: f.int("drops"),
	}
	return d, f.err
}

// ParseSink parses a sink line.
func ParseSink(line string) (SinkDone, error) {
	f, err := fields(line, EventSink, "frames", "bytes", "seconds", "dev_frames", "dev_bytes", "dev_missed", "errors")
	if err != nil {
		return SinkDone{}, err
	}
	s := SinkDone{
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
		return nil, fmt.Errorf("pktgen: %q: not a %s line", line, ev)
	}
	rest := line[strings.Index(line, Tag)+len(Tag)+len(ev):]
	f := &lineFields{line: line, s: map[string]string{}}
	for _, w := range strings.Fields(rest) {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("pktgen: %q: %q is not key=value", line, w)
		}
		f.s[k] = v
	}
	for _, k := range want {
		if _, ok := f.s[k]; !ok {
			return nil, fmt.Errorf("pktgen: %q: no %s=", line, k)
		}
	}
	return f, nil
}

// fail keeps the first conversion error.
func (f *lineFields) fail(k, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("pktgen: %q: %s=%q: want %s", f.line, k, f.s[k], want)
	}
}

// int is field k as a decimal integer (-1 allowed: "none").
func (f *lineFields) int(k string) int64 {
	n, err := strconv.ParseInt(f.s[k], 10, 64)
	if err != nil {
		f.fail(k, "an integer")
	}
	return n
}

// float is field k as a decimal number.
func (f *lineFields) float(k string) float64 {
	x, err := strconv.ParseFloat(f.s[k], 64)
	if err != nil {
		f.fail(k, "a number")
	}
	return x
}

// mode is field k as a generator mode.
func (f *lineFields) mode(k string) Mode {
	m, err := ParseMode(f.s[k])
	if err != nil {
		f.fail(k, "tx, tso or sink")
	}
	return m
}
