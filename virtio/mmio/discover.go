package mmio

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"tamanet/virtio"
)

// cmdlineKey is the kernel parameter that names a virtio-mmio device, as
// Linux's virtio_mmio driver takes it and QEMU's microvm appends it:
// virtio_mmio.device=<size>@<base>:<irq>[:<id>].
const cmdlineKey = "virtio_mmio.device="

// Entry is one virtio-mmio transport: a virtio_mmio.device= parameter or
// a DSDT device.
type Entry struct {
	Base, Size uint64
	IRQ        uint32 // the interrupt line (a GSI on x86)
	// Edge and ActiveLow describe the line as the DSDT does; the zero
	// value, level-triggered and active high, is how QEMU wires
	// virtio-mmio, and what a command-line entry (which cannot say) gets.
	Edge, ActiveLow bool
}

// ParseCommandLine returns every virtio_mmio.device= entry of cmdline, in
// order, and an error for each malformed one.
func ParseCommandLine(cmdline string) ([]Entry, error) {
	var entries []Entry
	var errs []error
	for _, f := range strings.Fields(cmdline) {
		v, ok := strings.CutPrefix(f, cmdlineKey)
		if !ok {
			continue
		}
		e, err := parseEntry(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("virtio-mmio: %q: %w", f, err))
			continue
		}
		entries = append(entries, e)
	}
	return entries, errors.Join(errs...)
}

// parseEntry parses <size>@<base>:<irq>[:<id>]; size takes Linux's K, M
// and G suffixes, numbers their 0x prefix.
func parseEntry(v string) (Entry, error) {
	size, rest, ok := strings.Cut(v, "@")
	if !ok {
		return Entry{}, errors.New("no '@' between size and base")
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Entry{}, errors.New("want <size>@<base>:<irq>[:<id>]")
	}
	var e Entry
	var err error
	if e.Size, err = parseSize(size); err != nil {
		return Entry{}, fmt.Errorf("size: %w", err)
	}
	if e.Base, err = strconv.ParseUint(parts[0], 0, 64); err != nil {
		return Entry{}, fmt.Errorf("base: %w", err)
	}
	irq, err := strconv.ParseUint(parts[1], 0, 32)
	if err != nil {
		return Entry{}, fmt.Errorf("irq: %w", err)
	}
	e.IRQ = uint32(irq)
	if e.Size == 0 || e.Base+e.Size < e.Base {
		return Entry{}, fmt.Errorf("window %#x+%#x", e.Base, e.Size)
	}
	return e, nil
}

func parseSize(s string) (uint64, error) {
	shift := 0
	switch {
	case strings.HasSuffix(s, "K") || strings.HasSuffix(s, "k"):
		shift = 10
	case strings.HasSuffix(s, "M") || strings.HasSuffix(s, "m"):
		shift = 20
	case strings.HasSuffix(s, "G") || strings.HasSuffix(s, "g"):
		shift = 30
	}
	if shift != 0 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil || n > (1<<(64-shift)-1) {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return n << shift, nil
}

// Device is one populated virtio-mmio transport.
type Device struct {
	Entry
	DeviceID uint32 // virtio device ID
}

// String names the device as the console shows it.
func (d Device) String() string {
	return fmt.Sprintf("virtio-mmio@%#x irq %d (device %d)", d.Base, d.IRQ, d.DeviceID)
}

// Binder takes a device's transport over: the driver for one virtio
// device type. An error is reported by Probe.
type Binder func(t virtio.Transport, d Device) error

// Platform is what the kernel lends discovery.
type Platform struct {
	// Map returns the register window [base, base+size).
	Map func(base, size uint64) (virtio.Window, error)
	// Bind holds the binder for each virtio device ID; devices of other
	// types are found but left alone.
	Bind map[uint16]Binder
}

// Stats counts what Probe found.
type Stats struct {
	Entries   int `json:"entries"`   // virtio_mmio.device= entries
	Empty     int `json:"empty"`     // transports without a device (ID 0)
	Bound     int `json:"bound"`     // devices a binder took
	Unbound   int `json:"unbound"`   // devices of a type without a binder
	Malformed int `json:"malformed"` // windows that do not map or hold no virtio transport
}

// Merge returns the entries of both lists, each window once (the first
// list's entry wins).
func Merge(a, b []Entry) []Entry {
	out := append([]Entry(nil), a...)
	for _, e := range b {
		if !slices.ContainsFunc(out, func(o Entry) bool { return o.Base == e.Base }) {
			out = append(out, e)
		}
	}
	return out
}

// Probe builds the transport of each populated window in entries and
// hands it to its binder. It returns every populated device and every
// problem: a window that does not map or has no virtio magic, a binder's
// error; the other devices are still probed.
func Probe(entries []Entry, p Platform) ([]Device, Stats, error) {
	var errs []error
	st := Stats{Entries: len(entries)}
	var found []Device
	for _, e := range entries {
		d, t, err := open(e, p.Map)
		switch {
		case err != nil:
			st.Malformed++
			errs = append(errs, err)
			continue
		case d.DeviceID == 0:
			st.Empty++
			continue
		}
		found = append(found, d)
		bind := p.Bind[uint16(d.DeviceID)]
		if bind == nil || d.DeviceID > 0xFFFF {
			st.Unbound++
			continue
		}
		if err := bind(t, d); err != nil {
			errs = append(errs, fmt.Errorf("%v: %w", d, err))
			continue
		}
		st.Bound++
	}
	return found, st, errors.Join(errs...)
}

// open maps one entry's window and reads its identity.
func open(e Entry, mapWindow func(base, size uint64) (virtio.Window, error)) (Device, *Transport, error) {
	if e.Size > 1<<32 {
		return Device{}, nil, fmt.Errorf("virtio-mmio@%#x: %#x-byte window", e.Base, e.Size)
	}
	w, err := mapWindow(e.Base, e.Size)
	if err != nil {
		return Device{}, nil, fmt.Errorf("virtio-mmio@%#x: %w", e.Base, err)
	}
	t, err := New(w, uint32(e.Size))
	if err != nil {
		return Device{}, nil, fmt.Errorf("virtio-mmio@%#x: %w", e.Base, err)
	}
	return Device{Entry: e, DeviceID: t.DeviceID()}, t, nil
}
