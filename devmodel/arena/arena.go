// Package arena is the DMA memory a driver and a software device model
// share in host tests: ordinary memory with fake, stable bus addresses.
// It satisfies the drivers' DMA allocator interfaces (e1000.DMA,
// virtio.DMA) and the device models' view of memory (Bytes), so every
// model and every driver test allocates from the same code.
package arena

import (
	"errors"
	"fmt"
	"sync"
)

// Base is the bus address of the first byte of every arena. It is
// nonzero so that a zero descriptor address is never a valid buffer.
const Base = 0x1000_0000

// DefaultSize is the arena size New uses for a size <= 0.
const DefaultSize = 8 << 20

// Errors returned by Arena.Alloc.
var (
	ErrInjected = errors.New("DMA arena: injected allocation failure")
	ErrFull     = errors.New("DMA arena: exhausted")
	ErrArgs     = errors.New("DMA arena: invalid allocation size or alignment")
)

// Arena is a bump allocator over one byte slice with fake, stable bus
// addresses starting at Base. A model only touches allocated bytes (see
// Bytes); any device access outside them is the model's DMA error to
// count, never a panic.
type Arena struct {
	mu       sync.Mutex
	mem      []byte
	used     int // bytes handed out, including alignment padding
	failNext int
	allocs   uint64
	failures uint64
}

// New returns an arena of size bytes (DefaultSize if size <= 0).
func New(size int) *Arena {
	if size <= 0 {
		size = DefaultSize
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
		return nil, 0, ErrInjected
	}
	if align == 0 {
		align = 1
	}
	if size <= 0 || align < 0 || align&(align-1) != 0 {
		a.failures++
		return nil, 0, fmt.Errorf("%w: size %d, align %d", ErrArgs, size, align)
	}
	// Base is aligned to any power of two up to 256 MiB, so aligning
	// the offset aligns the bus address.
	off := (a.used + align - 1) &^ (align - 1)
	if off > len(a.mem) || size > len(a.mem)-off {
		a.failures++
		return nil, 0, fmt.Errorf("%w: %d bytes requested, %d of %d used", ErrFull, size, a.used, len(a.mem))
	}
	a.used = off + size
	a.allocs++
	return a.mem[off : off+size : off+size], Base + uint64(off), nil
}

// FailNext makes the next n calls to Alloc fail with ErrInjected.
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
	if n < 0 || addr < Base {
		return nil, false
	}
	off := addr - Base
	if off > uint64(used) || uint64(n) > uint64(used)-off {
		return nil, false
	}
	return a.mem[off : off+uint64(n) : off+uint64(n)], true
}

// Counts returns the successful and the failed Alloc calls so far,
// injected failures included.
func (a *Arena) Counts() (allocs, failures uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.allocs, a.failures
}
