package mmio

import (
	"bytes"
	"encoding/binary"
)

// ACPI names a virtio-mmio transport with _HID "LNRO0005" and gives its
// window and interrupt in a _CRS resource template (QEMU's microvm with
// ACPI, which then leaves the command line alone).
var (
	amlHID = []byte("\x08_HID\x0dLNRO0005\x00") // NameOp _HID StringPrefix "LNRO0005"
	amlCRS = []byte("\x08_CRS\x11")             // NameOp _CRS BufferOp
)

// Resource descriptor tags (ACPI 6.x 6.4): large items this scan reads,
// and the small end tag.
const (
	tagMemory32Fixed = 0x86
	tagExtendedIRQ   = 0x89
	tagEndSmall      = 0x79
)

// ParseDSDT returns the virtio-mmio transports DSDT AML declares: for each
// Name(_HID, "LNRO0005"), the next Name(_CRS, ResourceTemplate) before the
// next such device, whose Memory32Fixed is the window and whose first
// Extended Interrupt the line. It reads AML patterns, not AML: a device
// described by a _CRS method, not a name, is not found.
func ParseDSDT(aml []byte) []Entry {
	var entries []Entry
	for {
		i := bytes.Index(aml, amlHID)
		if i < 0 {
			return entries
		}
		aml = aml[i+len(amlHID):]
		scope := aml
		if next := bytes.Index(aml, amlHID); next >= 0 {
			scope = aml[:next]
		}
		j := bytes.Index(scope, amlCRS)
		if j < 0 {
			continue
		}
		if e, ok := parseCRS(scope[j+len(amlCRS):]); ok {
			entries = append(entries, e)
		}
	}
}

// parseCRS reads a Buffer's PkgLength and size, then its resource
// descriptors.
func parseCRS(b []byte) (Entry, bool) {
	if len(b) == 0 {
		return Entry{}, false
	}
	n := int(b[0]>>6) + 1 // PkgLength bytes
	if len(b) < n+1 {
		return Entry{}, false
	}
	b = b[n:]
	switch b[0] { // the buffer size: an integer
	case 0x0a: // BytePrefix
		b = b[min(len(b), 2):]
	case 0x0b: // WordPrefix
		b = b[min(len(b), 3):]
	default:
		return Entry{}, false
	}
	var e Entry
	var mem, irq bool
	for len(b) > 0 && b[0] != tagEndSmall {
		if b[0]&0x80 == 0 { // a small item: length in bits 0-2
			b = b[min(len(b), 1+int(b[0]&7)):]
			continue
		}
		if len(b) < 3 {
			break
		}
		size := int(binary.LittleEndian.Uint16(b[1:]))
		if len(b) < 3+size {
			break
		}
		body := b[3 : 3+size]
		switch {
		case b[0] == tagMemory32Fixed && size >= 9 && !mem:
			e.Base = uint64(binary.LittleEndian.Uint32(body[1:]))
			e.Size = uint64(binary.LittleEndian.Uint32(body[5:]))
			mem = true
		case b[0] == tagExtendedIRQ && size >= 6 && body[1] >= 1 && !irq:
			// Flags: bit 1 edge-triggered, bit 2 active low (6.4.3.6).
			e.Edge, e.ActiveLow = body[0]&2 != 0, body[0]&4 != 0
			e.IRQ = binary.LittleEndian.Uint32(body[2:])
			irq = true
		}
		b = b[3+size:]
	}
	return e, mem && irq && e.Size != 0
}
