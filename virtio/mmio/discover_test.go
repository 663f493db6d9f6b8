package mmio

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"tamanet/virtio"
)

// TestParseCommandLine: every virtio_mmio.device= entry, in Linux's
// syntax (size suffixes, an optional platform device ID), and a clear
// error for each malformed one, keeping the good ones.
func TestParseCommandLine(t *testing.T) {
	cmdline := "entropy virtio_mmio.device=512@0xfeb00000:5 console=ttyS0 " +
		"virtio_mmio.device=4K@0xd0000000:12:3 virtio_mmio.device=512@nowhere:5 virtio_mmio.device=512 " +
		"virtio_mmio.device=1M@0xfeb00200:6"
	got, err := ParseCommandLine(cmdline)
	want := []Entry{{Base: 0xfeb00000, Size: 512, IRQ: 5}, {Base: 0xd0000000, Size: 4096, IRQ: 12}, {Base: 0xfeb00200, Size: 1 << 20, IRQ: 6}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries %+v, want %+v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), `"virtio_mmio.device=512@nowhere:5": base`) ||
		!strings.Contains(err.Error(), `"virtio_mmio.device=512": no '@'`) {
		t.Errorf("error %v", err)
	}
	if got, err := ParseCommandLine("kernelcheck"); got != nil || err != nil {
		t.Errorf("no entries: %v, %v", got, err)
	}
}

// microvmDSDT is the AML QEMU's microvm generates for a virtio-mmio
// transport with a device (hw/i386/acpi-microvm.c): Device (VR23) with
// _HID "LNRO0005", _UID, _CCA and a _CRS of Memory32Fixed and Interrupt.
func microvmDSDT(base, irq uint32) []byte {
	le := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	crs := append([]byte{0x86, 0x09, 0x00, 0x01}, le(base)...)
	crs = append(crs, le(512)...)
	crs = append(crs, 0x89, 0x06, 0x00, 0x09, 0x01)
	crs = append(crs, le(irq)...)
	crs = append(crs, 0x79, 0x00)
	buf := append([]byte{0x0a, byte(len(crs))}, crs...)
	var dev []byte
	dev = append(dev, "VR23"...)
	dev = append(dev, "\x08_HID\x0dLNRO0005\x00"...)
	dev = append(dev, "\x08_UID\x0a\x17"...)
	dev = append(dev, "\x08_CCA\x01"...)
	dev = append(dev, "\x08_CRS\x11"...)
	dev = append(dev, byte(len(buf)+1))
	dev = append(dev, buf...)
	return append([]byte{0x5b, 0x82, byte(len(dev) + 1)}, dev...)
}

// TestParseDSDT: each LNRO0005 device's window and interrupt; a device
// whose _CRS lacks either is skipped.
func TestParseDSDT(t *testing.T) {
	aml := append([]byte("DSDT....header...."), microvmDSDT(0xfeb02e00, 47)...)
	edgeLow := microvmDSDT(0xfeb02c00, 46)
	edgeLow[len(edgeLow)-8] |= 2 | 4 // the interrupt's flags
	aml = append(aml, edgeLow...)
	aml = append(aml, "\x08_HID\x0dLNRO0005\x00\x08_UID\x00"...) // no _CRS
	got := ParseDSDT(aml)
	want := []Entry{{Base: 0xfeb02e00, Size: 512, IRQ: 47}, {Base: 0xfeb02c00, Size: 512, IRQ: 46, Edge: true, ActiveLow: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries %+v, want %+v", got, want)
	}
	broken := microvmDSDT(0xfeb00000, 24)
	if got := ParseDSDT(broken[:len(broken)-12]); got != nil {
		t.Errorf("truncated _CRS: %+v", got)
	}
}

// TestMerge: a window named in both places is probed once.
func TestMerge(t *testing.T) {
	a := []Entry{{Base: 1, Size: 512, IRQ: 5}}
	b := []Entry{{Base: 1, Size: 512, IRQ: 24}, {Base: 2, Size: 512, IRQ: 25}}
	if got := Merge(a, b); !reflect.DeepEqual(got, []Entry{a[0], b[1]}) {
		t.Errorf("merged %+v", got)
	}
}

// regs is a virtio-mmio window with fixed identity registers.
type regs struct {
	magic, version, id uint32
}

func (r regs) Read32(off uint32) uint32 {
	switch off {
	case MagicValue:
		return r.magic
	case Version:
		return r.version
	case DeviceID:
		return r.id
	}
	return 0
}
func (regs) Read8(uint32) uint8           { return 0 }
func (regs) Read16(uint32) uint16         { return 0 }
func (regs) Write8(uint32, uint8)         {}
func (regs) Write16(uint32, uint16)       {}
func (regs) Write32(off uint32, v uint32) {}

// TestProbe: populated windows go to their binder, empty ones (device ID
// 0) and ones of types without a binder are counted, a window without the
// magic or with an unknown version or one that does not map is an error
// naming it, and the rest are still probed.
func TestProbe(t *testing.T) {
	windows := map[uint64]regs{
		0x1000: {Magic, 2, virtio.DeviceEntropy},
		0x1200: {Magic, 1, 0},
		0x1400: {Magic, 1, virtio.DeviceNet},
		0x1600: {0xdeadbeef, 2, 4},
		0x1800: {Magic, 3, 4},
		0x1a00: {Magic, 1, virtio.DeviceEntropy},
	}
	var entries []Entry
	for _, base := range []uint64{0x1000, 0x1200, 0x1400, 0x1600, 0x1800, 0x1a00, 0x1c00} {
		entries = append(entries, Entry{Base: base, Size: 0x200, IRQ: uint32(base >> 9)})
	}
	var bound []string
	found, st, err := Probe(entries, Platform{
		Map: func(base, size uint64) (virtio.Window, error) {
			w, ok := windows[base]
			if !ok {
				return nil, errors.New("outside the MMIO range")
			}
			return w, nil
		},
		Bind: map[uint16]Binder{virtio.DeviceEntropy: func(t virtio.Transport, d Device) error {
			bound = append(bound, fmt.Sprintf("%s %s", d, t.Name()))
			return nil
		}},
	})
	if want := []string{"virtio-mmio@0x1000 irq 8 (device 4) mmio-v2", "virtio-mmio@0x1a00 irq 13 (device 4) mmio-v1"}; !reflect.DeepEqual(bound, want) {
		t.Errorf("bound %q, want %q", bound, want)
	}
	if len(found) != 3 {
		t.Errorf("found %v", found)
	}
	if want := (Stats{Entries: 7, Empty: 1, Bound: 2, Unbound: 1, Malformed: 3}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	for _, s := range []string{"virtio-mmio@0x1600: virtio-mmio: magic 0xdeadbeef", "virtio-mmio@0x1800: virtio-mmio: version 3", "virtio-mmio@0x1c00: outside"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v lacks %q", err, s)
		}
	}
}
