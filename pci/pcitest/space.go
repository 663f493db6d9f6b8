// Package pcitest is a software PCI configuration space for tests, with the
// behaviour enumeration and BAR sizing depend on (PCI Local Bus
// Specification 3.0, chapter 6):
//   - functions that do not exist read as all ones and ignore writes;
//   - every register bit is read-only, read-write or write-one-to-clear;
//   - a Base Address Register's address bits below its size are read-only
//     zero, so writing all ones reads back the size mask, and its type bits
//     are read-only;
//   - configuration mechanism #1 behind ports 0xCF8/0xCFC (Ports).
//
// The space counts accesses, and counts BAR writes made while the function
// was decoding that address space, which sizing must never do.
package pcitest

import (
	"sync"

	"tamanet/pci"
)

// Stats counts configuration accesses to a Space.
type Stats struct {
	Reads, Writes int
	// DecodeViolations counts writes that changed a BAR while the
	// function's Command register enabled decoding of that BAR's space.
	DecodeViolations int
}

// Space is a configuration space holding any number of functions. It
// implements pci.ConfigSpace and is safe for concurrent use.
type Space struct {
	mu    sync.Mutex
	fns   map[pci.Address]*Function
	stats Stats
}

var _ pci.ConfigSpace = (*Space)(nil)

// New returns an empty space: every function reads as absent.
func New() *Space {
	return &Space{fns: make(map[pci.Address]*Function)}
}

// Stats returns the access counters.
func (s *Space) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Function returns the function at a, nil if there is none.
func (s *Space) Function(a pci.Address) *Function {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fns[a]
}

// Read32 implements pci.ConfigSpace.
func (s *Space) Read32(bus, dev, fn, off uint8) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Reads++
	f := s.fns[pci.Address{Bus: bus, Device: dev, Function: fn}]
	if f == nil {
		return 0xFFFFFFFF
	}
	return f.peek(off)
}

// Write32 implements pci.ConfigSpace.
func (s *Space) Write32(bus, dev, fn, off uint8, val uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Writes++
	f := s.fns[pci.Address{Bus: bus, Device: dev, Function: fn}]
	if f == nil {
		return
	}
	off &^= 3
	old := f.peek(off)
	if f.decodes(off) {
		defer func() {
			if f.peek(off) != old {
				s.stats.DecodeViolations++
			}
		}()
	}
	for i := uint8(0); i < 4; i++ {
		o := off + i
		v := byte(val >> (8 * i))
		f.cfg[o] = (f.cfg[o] &^ f.writable[o]) | (v & f.writable[o])
		f.cfg[o] &^= v & f.clearable[o]
	}
}

// Function is one function's 256-byte configuration space with, for every
// bit, whether software may write it or clear it by writing one. Its setup
// methods are not synchronised with accesses through the Space: set a
// function up before the code under test runs.
type Function struct {
	cfg, writable, clearable [256]byte
	nBARs                    int
	// barSpace says which Command decode bit governs each BAR register,
	// the upper half of a 64-bit BAR included.
	barSpace [6]uint16
}

// peek returns the dword at off without counting an access.
func (f *Function) peek(off uint8) uint32 {
	off &^= 3
	return uint32(f.cfg[off]) | uint32(f.cfg[off+1])<<8 |
		uint32(f.cfg[off+2])<<16 | uint32(f.cfg[off+3])<<24
}

// Peek32 returns the dword at off as the function holds it, for test
// assertions; it is not counted as an access.
func (f *Function) Peek32(off uint8) uint32 {
	return f.peek(off)
}

// decodes reports whether off is a BAR register whose address space the
// Command register currently enables.
func (f *Function) decodes(off uint8) bool {
	i := int(off-pci.BASE_ADDRESS_0) / 4
	if off < pci.BASE_ADDRESS_0 || i >= f.nBARs {
		return false
	}
	space := f.barSpace[i]
	if space == 0 {
		// A register set up by SetRegister: its bit 0 says.
		space = pci.COMMAND_MEMORY_SPACE
		if f.cfg[off]&pci.BAR_SPACE_IO != 0 {
			space = pci.COMMAND_IO_SPACE
		}
	}
	return uint16(f.peek(pci.COMMAND))&space != 0
}

// SetRegister sets the dword at off to val, with writable the bits software
// may change. It is the escape hatch for registers the other setters do not
// model, broken ones included.
func (f *Function) SetRegister(off uint8, val, writable uint32) {
	f.set(off, val, writable, 0)
}

func (f *Function) set(off uint8, val, writable, clearable uint32) {
	off &^= 3
	for i := uint8(0); i < 4; i++ {
		f.cfg[off+i] = byte(val >> (8 * i))
		f.writable[off+i] = byte(writable >> (8 * i))
		f.clearable[off+i] = byte(clearable >> (8 * i))
	}
}

// setField replaces the bytes of the dword at off selected by mask with
// those of val, keeping the write masks of the others.
func (f *Function) setField(off uint8, mask, val, writable, clearable uint32) {
	off &^= 3
	for i := uint8(0); i < 4; i++ {
		if byte(mask>>(8*i)) == 0 {
			continue
		}
		f.cfg[off+i] = byte(val >> (8 * i))
		f.writable[off+i] = byte(writable >> (8 * i))
		f.clearable[off+i] = byte(clearable >> (8 * i))
	}
}
