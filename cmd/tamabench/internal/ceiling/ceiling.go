// Package ceiling holds the results of tamabench ceiling: what a guest's
// NIC moves with no network stack above it (the unikernel's packet
// generator and receive sink, boot option pktgen=), measured by the guest,
// by the device's own statistics registers where it has them, and by the
// host at the tap; and the share of that ceiling the stacks' transfers of
// a benchmark run reach. The schema is stable: fields are only ever added,
// and Schema changes when a meaning changes.
package ceiling

import (
	"fmt"
	"sort"
	"time"

	"tamanet/cmd/tamabench/internal/result"
)

// Schema identifies this version of the format.
const Schema = "tamabench-ceiling/v1"

// Directions, as the guest sees them.
const (
	GuestTx = "guest tx"
	GuestRx = "guest rx"
)

// File is one ceiling run: every mode, on one NIC.
type File struct {
	Schema  string    `json:"schema"`
	Started time.Time `json:"started"`
	NIC     string    `json:"nic"`  // qemu.sh -n
	Note    string    `json:"note"` // accelerator, machine, firmware
	// Seconds is each mode's transmit (tx, tso) or send (sink) time.
	Seconds float64 `json:"seconds"`
	Rows    []Row   `json:"rows"`
}

// Row is one mode's measurement.
type Row struct {
	// Name is the mode and size as the table names it: tx-60, tso, sink-1514.
	Name      string `json:"name"`
	Round     int    `json:"round"` // 1, 2, ...: every mode is measured once a round
	Mode      string `json:"mode"`  // tx, tso or sink (boot option pktgen=)
	Direction string `json:"direction"`
	// Size is the frame's length without FCS (tx, sink) or the TCP
	// payload of each super-frame (tso); WireSize is the largest frame
	// on the wire.
	Size     int `json:"size"`
	WireSize int `json:"wire_size"`

	// Guest is what the unikernel counted on the wire (tx, tso: what the
	// driver accepted, as segments; sink: what it received, markers not
	// counted), over its own time.
	Guest Count `json:"guest"`
	// Device is what the NIC's statistics registers counted over the same
	// interval (bytes with FCS, as the registers count them); nil where
	// the device keeps none (virtio-net).
	Device *Count `json:"device,omitempty"`
	// Host is the tap's view: tx, tso: the frames it received (rx
	// counters) between the guest's start and done lines; sink: the frames
	// the host's writer handed the tap, over the writing time.
	Host Count `json:"host"`

	// GuestDrops is the driver's count of frames it consumed without
	// sending (tx, tso) or received without delivering (sink).
	GuestDrops int64 `json:"guest_drops"`
	// DevMissed is the e1000's MPC over the interval (sink): frames the
	// device had no buffer for; -1 where the device has no such register.
	DevMissed int64 `json:"dev_missed,omitempty"`
	// TapRead and TapDropped (sink): the frames QEMU read from the tap
	// and those the tap dropped with its queue full, over the writing.
	TapRead    int64 `json:"tap_read,omitempty"`
	TapDropped int64 `json:"tap_dropped,omitempty"`
}

// Count is frames and bytes (frames without FCS unless said otherwise)
// over a time.
type Count struct {
	Frames  int64   `json:"frames"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

// FramesPerS is the frame rate; 0 without a time.
func (c Count) FramesPerS() float64 { return per(float64(c.Frames), c.Seconds) }

// MBps is the byte rate in MB/s (10^6 bytes per second).
func (c Count) MBps() float64 { return per(float64(c.Bytes), c.Seconds) / 1e6 }

func per(n, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return n / s
}

// Ceiling is the row's headline count: what reached the other side.
// Guest tx: the host's (the tap's rx counters); guest rx: the guest's.
func (r Row) Ceiling() Count {
	if r.Direction == GuestTx {
		return r.Host
	}
	return r.Guest
}

// fcsLen is the Ethernet frame check sequence the statistics registers
// count in their octets and the other counts leave out.
const fcsLen = 4

// DevAgreement is the device's frame count over the guest's, 1 when they
// agree; ok is false without device registers or guest frames.
func (r Row) DevAgreement() (frames, bytes float64, ok bool) {
	if r.Device == nil || r.Guest.Frames == 0 {
		return 0, 0, false
	}
	frames = float64(r.Device.Frames) / float64(r.Guest.Frames)
	bytes = float64(r.Device.Bytes) / float64(r.Guest.Bytes+fcsLen*r.Guest.Frames)
	return frames, bytes, true
}

// Find returns the first row named name, or nil.
func (f *File) Find(name string) *Row {
	for i := range f.Rows {
		if f.Rows[i].Name == name {
			return &f.Rows[i]
		}
	}
	return nil
}

// CeilingMBps is the median over rounds of the ceiling MB/s of the rows
// named name, and how many there are (0: none, the median 0).
func (f *File) CeilingMBps(name string) (float64, int) {
	var v []float64
	for _, r := range f.Rows {
		if r.Name == name {
			v = append(v, r.Ceiling().MBps())
		}
	}
	if len(v) == 0 {
		return 0, 0
	}
	sort.Float64s(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2, n
	}
	return v[len(v)/2], len(v)
}

// Save writes f as indented JSON to path.
func Save(path string, f *File) error { return result.WriteJSON(path, f) }

// Load reads a ceiling file and checks its schema.
func Load(path string) (*File, error) {
	f := new(File)
	if err := result.ReadJSON(path, f); err != nil {
		return nil, err
	}
	if f.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, f.Schema, Schema)
	}
	return f, nil
}
