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
	// mapped are the windows Map handed out, by window number; free
	// lists the numbers of unused ones.
	mapped       [][]byte
	free         []int
	maps, unmaps uint64
	badUnmaps    uint64
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

// Mapped memory: ordinary memory a driver lends the device for a while
// (Map), the way a unikernel with identity-mapped memory gives a device a
// heap buffer's physical address. Each mapping gets a window of mapWindow
// bytes of fake bus addresses from MapBase on, so an address names its
// mapping without a search and a stale address finds nothing.
const (
	MapBase   = 1 << 40
	mapWindow = 1 << 24
)

// Map lends buf to the device until Unmap: the bus address of buf[0], or
// false for an empty buffer or one larger than a window.
func (a *Arena) Map(buf []byte) (busAddr uint64, ok bool) {
	if len(buf) == 0 || len(buf) > mapWindow {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var w int
	if k := len(a.free); k > 0 {
		w, a.free = a.free[k-1], a.free[:k-1]
	} else {
		w = len(a.mapped)
		a.mapped = append(a.mapped, nil)
	}
	a.mapped[w] = buf
	a.maps++
	return MapBase + uint64(w)*mapWindow, true
}

// Unmap ends the loan Map made at busAddr; the device can no longer reach
// the buffer. An address Map did not hand out, or one already unmapped, is
// counted (see Maps) and otherwise ignored.
func (a *Arena) Unmap(busAddr uint64, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w, ok := a.window(busAddr)
	if !ok || (busAddr-MapBase)%mapWindow != 0 || len(a.mapped[w]) != n {
		a.badUnmaps++
		return
	}
	a.mapped[w] = nil
	a.free = append(a.free, w)
	a.unmaps++
}

// window is the number of the live mapping holding busAddr. Called with mu
// held.
func (a *Arena) window(busAddr uint64) (int, bool) {
	if busAddr < MapBase {
		return 0, false
	}
	w := (busAddr - MapBase) / mapWindow
	if w >= uint64(len(a.mapped)) || a.mapped[w] == nil {
		return 0, false
	}
	return int(w), true
}

// Maps returns the Map and Unmap calls so far, and the Unmap calls that
// named no live mapping. Tests compare them to find a leaked or doubly
// ended loan.
func (a *Arena) Maps() (maps, unmaps, bad uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.maps, a.unmaps, a.badUnmaps
}

// Bytes returns the allocated or mapped bytes at bus address addr, length
// n, or false if any of them lies outside what Alloc has handed out or a
// live mapping. Tests use it to inspect memory the way the device sees it.
func (a *Arena) Bytes(addr uint64, n int) ([]byte, bool) {
	a.mu.Lock()
	used := a.used
	if w, ok := a.window(addr); ok && n >= 0 {
		b := a.mapped[w]
		a.mu.Unlock()
		off := (addr - MapBase) % mapWindow
		if off > uint64(len(b)) || uint64(n) > uint64(len(b))-off {
			return nil, false
		}
		return b[off : off+uint64(n) : off+uint64(n)], true
	}
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
