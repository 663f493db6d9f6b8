package pci

import (
	"errors"
	"fmt"
)

// Base Address Register bits (PCI 3.0 section 6.2.5.1).
const (
	BAR_SPACE_IO         = 1 << 0 // 1: I/O space, 0: memory space
	BAR_MEM_TYPE_MASK    = 0x6
	BAR_MEM_TYPE_32      = 0x0
	BAR_MEM_TYPE_1M      = 0x2 // "below 1 MiB" in PCI 2.1, reserved since 2.2
	BAR_MEM_TYPE_64      = 0x4
	BAR_MEM_PREFETCHABLE = 1 << 3
	BAR_IO_ADDR_MASK     = 0xFFFFFFFC
	BAR_MEM_ADDR_MASK    = 0xFFFFFFF0
)

// BARKind is the address space and width a BAR decodes.
type BARKind uint8

// BAR kinds.
const (
	BARIO    BARKind = iota + 1 // I/O space
	BARMem32                    // 32-bit memory space
	BARMem64                    // 64-bit memory space, two registers
)

// String returns "io", "mem32" or "mem64", the words the table uses.
func (k BARKind) String() string {
	switch k {
	case BARIO:
		return "io"
	case BARMem32:
		return "mem32"
	case BARMem64:
		return "mem64"
	}
	return fmt.Sprintf("BARKind(%d)", uint8(k))
}

// Errors found while decoding BARs; Device.Err wraps them.
var (
	// ErrBARType is a BAR whose type field is reserved, or a 64-bit BAR in
	// the last register, with no upper half.
	ErrBARType = errors.New("pci: bad BAR type")
	// ErrBARMask is a BAR whose size mask has no writable address bits, or
	// whose writable bits are not contiguous.
	ErrBARMask = errors.New("pci: bad BAR size mask")
)

// BAR is one implemented Base Address Register.
type BAR struct {
	// Index is the register number, 0-5; a 64-bit BAR also occupies
	// Index+1.
	Index        uint8
	Kind         BARKind
	Prefetchable bool
	// Addr is the base address firmware assigned (0 if none); Size is the
	// decoded window size in bytes, a power of two.
	Addr, Size uint64
}

// String formats b as in the table: "BAR0 mem32 0xfebc0000 [size 0x20000]",
// with "pref" after the kind for prefetchable memory.
func (b BAR) String() string {
	pref := ""
	if b.Prefetchable {
		pref = " pref"
	}
	return fmt.Sprintf("BAR%d %s%s %#x [size %#x]", b.Index, b.Kind, pref, b.Addr, b.Size)
}

// probeBAR writes all ones to the BAR register at off, reads back its size
// mask and restores the original value, which it returns with the mask.
func (d *Device) probeBAR(off uint8) (orig, mask uint32) {
	orig = d.Read32(off)
	d.Write32(off, 0xFFFFFFFF)
	mask = d.Read32(off)
	d.Write32(off, orig)
	return orig, mask
}

// sizeBARs decodes and sizes the first n Base Address Registers. Decoding
// is switched off while a register holds all ones, so the function cannot
// claim a stray address range meanwhile, and the Command register is put
// back afterwards. Host bridges keep decoding: main memory may be behind
// them, and they rarely implement BARs at all. Registers reading back zero
// are not implemented and are left out. Bad registers are skipped and
// reported in the returned error; the others are still decoded.
func (d *Device) sizeBARs(n int) ([]BAR, error) {
	hostBridge := d.BaseClass == ClassBridge && d.SubClass == SubclassHostBridge
	if cmd := d.Command(); !hostBridge && cmd&commandDecode != 0 {
		d.SetCommand(cmd &^ commandDecode)
		defer d.SetCommand(cmd)
	}

	var bars []BAR
	var errs []error
	for i := 0; i < n; i++ {
		off := uint8(BASE_ADDRESS_0 + 4*i)
		orig, mask := d.probeBAR(off)
		if mask == 0 {
			continue
		}
		b := BAR{Index: uint8(i)}
		// addr is the writable address bits read back; full extends
		// them with the bits a narrower decoder implies, so that its
		// lowest set bit is the size and all bits above are ones.
		var addr, full uint64
		switch {
		case orig&BAR_SPACE_IO != 0:
			b.Kind = BARIO
			b.Addr = uint64(orig & BAR_IO_ADDR_MASK)
			addr = uint64(mask & BAR_IO_ADDR_MASK)
			full = addr | 0xFFFFFFFF00000000
			if addr&0xFFFF0000 == 0 {
				// A 16-bit I/O decoder hardwires the upper half to 0.
				full |= 0xFFFF0000
			}
		case orig&BAR_MEM_TYPE_MASK == BAR_MEM_TYPE_64:
			if i+1 >= n {
				errs = append(errs, fmt.Errorf("BAR%d: 64-bit BAR in the last register: %w", i, ErrBARType))
				continue
			}
			hiOrig, hiMask := d.probeBAR(off + 4)
			b.Kind = BARMem64
			b.Addr = uint64(hiOrig)<<32 | uint64(orig&BAR_MEM_ADDR_MASK)
			addr = uint64(hiMask)<<32 | uint64(mask&BAR_MEM_ADDR_MASK)
			full = addr
			i++ // the upper half is not a BAR of its own
		case orig&BAR_MEM_TYPE_MASK == BAR_MEM_TYPE_32, orig&BAR_MEM_TYPE_MASK == BAR_MEM_TYPE_1M:
			if orig&BAR_MEM_TYPE_MASK == BAR_MEM_TYPE_1M {
				// Still decodable as 32-bit: report it, keep it.
				errs = append(errs, fmt.Errorf("BAR%d: obsolete below-1MiB memory type, decoded as 32-bit: %w", i, ErrBARType))
			}
			b.Kind = BARMem32
			b.Addr = uint64(orig & BAR_MEM_ADDR_MASK)
			addr = uint64(mask & BAR_MEM_ADDR_MASK)
			full = addr | 0xFFFFFFFF00000000
		default:
			errs = append(errs, fmt.Errorf("BAR%d: reserved memory type %#x: %w", i, orig&BAR_MEM_TYPE_MASK>>1, ErrBARType))
			continue
		}
		b.Prefetchable = b.Kind != BARIO && orig&BAR_MEM_PREFETCHABLE != 0

		if addr == 0 {
			errs = append(errs, fmt.Errorf("BAR%d: mask %#x has no address bits: %w", b.Index, mask, ErrBARMask))
			continue
		}
		// The lowest writable bit gives the size (PCI 3.0 6.2.5.1); the
		// bits above it must all be writable too.
		b.Size = full & -full
		if full+b.Size != 0 {
			errs = append(errs, fmt.Errorf("BAR%d: writable bits %#x are not contiguous: %w", b.Index, addr, ErrBARMask))
			continue
		}
		bars = append(bars, b)
	}
	return bars, errors.Join(errs...)
}
