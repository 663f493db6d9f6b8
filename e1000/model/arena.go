package model

import (
	"errors"
	"fmt"
	"sync"
)

// ArenaBase is the bus address of the first byte of every arena. It is
// nonzero so that a zero descriptor address is never a valid buffer.
const ArenaBase = 0x1000_0000

// DefaultMemSize is the arena size used when Config.MemSize is zero.
const DefaultMemSize = 8 << 20

// Errors returned by Arena.Alloc.
var (
	ErrAllocInjected = errors.New("e1000 model: injected allocation failure")
	ErrArenaFull     = errors.New("e1000 model: DMA arena exhausted")
	ErrAllocArgs     = errors.New("e1000 model: invalid allocation size or alignment")
)

// Arena is the DMA memory shared by the driver and the model: a bump
// allocator over one byte slice with fake, stable bus addresses starting at
// ArenaBase. The model only touches allocated bytes; any device access
// outside them is a DMA error that is counted, never a panic.
type Arena struct {
	mu       sync.Mutex
	mem      []byte
	used     int // bytes handed out, including alignment padding
	failNext int
	allocs   uint64
	failures uint64
}

// NewArena returns an arena of size bytes (DefaultMemSize if size <= 0),
// for device models other than this one (the virtio model) to share.
func NewArena(size int) *Arena { return newArena(size) }

func newArena(size int) *Arena {
	if size <= 0 {
		size = DefaultMemSize
	}
	return &Arena{mem: make([]byte, size)}
}

// Alloc returns size bytes aligned to align (a power of two; 0 means 1) and
// their bus address. The slice's capacity equals its length, so appends
// cannot spill into a neighbour. Memory is never freed.
func (a *Arena) Alloc(size, align int) (buf []byte, busAddr uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failNext > 0 {
		a.failNext--
		a.failures++
		return nil, 0, ErrAllocInjected
	}
	if align == 0 {
		align = 1
	}
	if size <= 0 || align < 0 || align&(align-1) != 0 {
		a.failures++
		return nil, 0, fmt.Errorf("%w: size %d, align %d", ErrAllocArgs, size, align)
	}
	// ArenaBase is aligned to any power of two up to 256 MiB, so aligning
	// the offset aligns the bus address.
	off := (a.used + align - 1) &^ (align - 1)
	if off > len(a.mem) || size > len(a.mem)-off {
		a.failures++
		return nil, 0, fmt.Errorf("%w: %d bytes requested, %d of %d used", ErrArenaFull, size, a.used, len(a.mem))
	}
	a.used = off + size
	a.allocs++
	return a.mem[off : off+size : off+size], ArenaBase + uint64(off), nil
}

// FailNext makes the next n calls to Alloc fail with ErrAllocInjected.
func (a *Arena) FailNext(n int) {
	a.mu.Lock()
	a.failNext = n
	a.mu.Unlock()
}

// Size returns the arena's capacity in bytes.
func (a *Arena) Size() int { return len(a.mem) }

// Used returns the bytes handed out so far, including alignment padding.
func (a *Arena) Used() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used
}

// Bytes returns the allocated bytes at bus address addr, length n, or false
// if any of them lies outside what Alloc has handed out. Tests use it to
// inspect memory the way the device sees it.
func (a *Arena) Bytes(addr uint64, n int) ([]byte, bool) {
	a.mu.Lock()
	used := a.used
	a.mu.Unlock()
	if n < 0 || addr < ArenaBase {
		return nil, false
	}
	off := addr - ArenaBase
	if off > uint64(used) || uint64(n) > uint64(used)-off {
		return nil, false
	}
	return a.mem[off : off+uint64(n) : off+uint64(n)], true
}

func (a *Arena) counts() (allocs, failures uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.allocs, a.failures
}
