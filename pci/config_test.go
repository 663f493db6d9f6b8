package pci_test

import (
	"sync"
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

func TestSubDwordReads(t *testing.T) {
	s := pcitest.QEMUPC()
	ide := func(off uint8) (uint8, uint16) {
		return pci.Read8(s, 0, 1, 1, off), pci.Read16(s, 0, 1, 1, off)
	}
	for _, tc := range []struct {
		off  uint8
		b    uint8
		word uint16
	}{
		{pci.VENDOR_ID, 0x86, 0x8086},
		{pci.VENDOR_ID + 1, 0x80, 0x8086}, // bit 0 of a 16-bit offset is ignored
		{pci.DEVICE_ID, 0x10, 0x7010},
		{pci.CLASS_CODE, 0x80, 0x8000},     // prog-if; the word is revision and prog-if
		{pci.CLASS_CODE + 2, 0x01, 0x0101}, // base class; the word is sub-class and base class
		{pci.HEADER_TYPE, 0x00, 0x0000},
	} {
		if b, w := ide(tc.off); b != tc.b || w != tc.word {
			t.Errorf("off %#x: Read8 %#x Read16 %#x, want %#x %#x", tc.off, b, w, tc.b, tc.word)
		}
	}
	if ht := pci.Read8(s, 0, 1, 0, pci.HEADER_TYPE); ht != pci.HEADER_TYPE_MULTI_FUNCTION {
		t.Errorf("PIIX3 header type %#x, want 0x80", ht)
	}
	if v := pci.Read16(s, 0, 9, 0, pci.VENDOR_ID); v != 0xFFFF {
		t.Errorf("absent function reads %#x, want 0xffff", v)
	}
}

func TestSubDwordWrites(t *testing.T) {
	s, f := oneFunction(pcitest.Header{VendorID: 0x8086, DeviceID: 0x100e, InterruptLine: 11, InterruptPin: 1})
	// Interrupt Line shares its dword with the read-only Interrupt Pin.
	pci.Write8(s, 0, 1, 0, pci.INTERRUPT_LINE, 10)
	if got := f.Peek32(pci.INTERRUPT_LINE); got != 0x010a {
		t.Errorf("after Write8: %#x, want 0x010a", got)
	}
	// Latency Timer is byte 1 of the Cache Line Size dword; the header
	// type next to it is read-only.
	pci.Write8(s, 0, 1, 0, pci.LATENCY_TIMER, 0x40)
	pci.Write8(s, 0, 1, 0, pci.CACHE_LINE_SIZE, 0x10)
	if got := f.Peek32(pci.CACHE_LINE_SIZE); got != 0x4010 {
		t.Errorf("after Write8s: %#x, want 0x4010", got)
	}
	pci.Write16(s, 0, 1, 0, pci.CACHE_LINE_SIZE, 0x2008)
	if got := f.Peek32(pci.CACHE_LINE_SIZE); got != 0x2008 {
		t.Errorf("after Write16: %#x, want 0x2008", got)
	}
}

// recordingPorts remembers the port writes of configuration mechanism #1.
type recordingPorts struct {
	outs []uint32
}

func (r *recordingPorts) Out32(port uint16, v uint32) {
	r.outs = append(r.outs, uint32(port), v)
}

func (r *recordingPorts) In32(port uint16) uint32 { return 0x12345678 }

func TestMechanism1Address(t *testing.T) {
	r := &recordingPorts{}
	m := pci.NewMechanism1(r)
	if v := m.Read32(0x12, 0x1f, 7, 0x3e); v != 0x12345678 {
		t.Errorf("read %#x", v)
	}
	m.Write32(0xff, 3, 0, 0x10, 0xfeb80000)
	want := []uint32{
		pci.CONFIG_ADDRESS, 0x8012ff3c, // bus 0x12, device 31, function 7, dword 0x3c
		pci.CONFIG_ADDRESS, 0x80ff1810, pci.CONFIG_DATA, 0xfeb80000,
	}
	if len(r.outs) != len(want) {
		t.Fatalf("port writes %#x, want %#x", r.outs, want)
	}
	for i := range want {
		if r.outs[i] != want[i] {
			t.Fatalf("port writes %#x, want %#x", r.outs, want)
		}
	}
}

// TestMechanism1OutOfRange: a device or function number the mechanism
// cannot encode must not alias another function.
func TestMechanism1OutOfRange(t *testing.T) {
	r := &recordingPorts{}
	m := pci.NewMechanism1(r)
	if v := m.Read32(0, 32, 0, 0); v != 0xFFFFFFFF {
		t.Errorf("device 32 reads %#x, want all ones", v)
	}
	if v := m.Read32(0, 0, 8, 0); v != 0xFFFFFFFF {
		t.Errorf("function 8 reads %#x, want all ones", v)
	}
	m.Write32(0, 32, 0, 0x10, 0)
	if len(r.outs) != 0 {
		t.Errorf("port accesses for out-of-range functions: %#x", r.outs)
	}
}

// TestMechanism1Concurrent: the address/data pair must not interleave.
// pcitest.Ports has a single unlocked latch, so without Mechanism1's lock
// this returns wrong IDs (and the race detector reports the latch).
func TestMechanism1Concurrent(t *testing.T) {
	s := pcitest.QEMUPC()
	m := pci.NewMechanism1(pcitest.NewPorts(s))
	want := map[uint8]uint32{2: 0x11111234, 3: 0x100e8086, 4: 0x10001af4, 5: 0x00011b36}
	var wg sync.WaitGroup
	errs := make(chan string, len(want))
	for dev, id := range want {
		wg.Go(func() {
			for range 2000 {
				if got := m.Read32(0, dev, 0, pci.VENDOR_ID); got != id {
					errs <- "wrong ID"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
