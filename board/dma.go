//go:build tamago

package board

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/usbarmory/tamago/dma"
)

// Device DMA lives outside the runtime's memory, in the largest usable RAM
// range of the PVH memory map below it, above the boot page tables.
const (
	dmaFloor   = 0x01000000 // clear of the first 16 MiB (boot tables, BIOS areas)
	dmaMinSize = 16 << 20
)

var dmaRegion *dma.Region

// DMARange returns the physical range [start, end) used for device DMA.
func DMARange() (start, end uint64) {
	if dmaRegion == nil {
		return 0, 0
	}
	return uint64(dmaRegion.Start()), uint64(dmaRegion.End())
}

// initDMA picks the DMA range from the memory map and sets up tamago's
// default DMA region on it.
func initDMA() error {
	ramStart, _ := runtime.MemRegion()
	var best MemoryRange
	for _, r := range MemoryMap() {
		if r.Type != MemoryRAM {
			continue
		}
		start, end := max(r.Start, dmaFloor), min(r.End, ramStart)
		if end > start && end-start > best.End-best.Start {
			best = MemoryRange{start, end, MemoryRAM}
		}
	}
	if best.End-best.Start < dmaMinSize {
		return fmt.Errorf("board: no usable RAM for DMA below %#x (memory map %v)", ramStart, MemoryMap())
	}
	r, err := dma.NewRegion(uint(best.Start), int(best.End-best.Start), false)
	if err != nil {
		return err
	}
	dmaRegion = r
	return nil
}

// DMA hands out device-visible memory from the board's DMA range. Memory is
// identity mapped, so the bus address is the physical address. It
// satisfies the e1000 driver's DMA interface.
type DMA struct{}

// ErrDMAExhausted means the DMA range has no room for the request.
var ErrDMAExhausted = errors.New("board: DMA range exhausted")

// Alloc reserves size bytes aligned to align for the life of the program.
func (DMA) Alloc(size, align int) (buf []byte, busAddr uint64, err error) {
	if dmaRegion == nil {
		return nil, 0, errors.New("board: DMA range not initialized")
	}
	if size <= 0 || align <= 0 || align&(align-1) != 0 {
		return nil, 0, fmt.Errorf("board: bad DMA request size %d align %d", size, align)
	}
	addr, buf := dmaRegion.Reserve(size, align)
	if buf == nil {
		return nil, 0, ErrDMAExhausted
	}
	clear(buf)
	return buf, uint64(addr), nil
}

// Map gives the device the bus address of buf, memory the runtime manages
// (the drivers' DMAMapper; transmit uses it to let the device read the
// stack's packet buffers in place). It is the address itself: the tamago
// amd64 page tables map all memory virtual == physical, and QEMU's devices
// address guest-physical memory with no IOMMU between, so a heap address
// is a bus address. Go's collector does not move heap objects, and the
// driver keeps the buffer's owner (the stack's packet) referenced until
// Unmap, so the memory stays put and alive while the device reads it.
// Goroutine stacks do move: buf must be heap memory, which gVisor's views
// are. Host tests use the device model's arena instead, which lends fake
// bus addresses. Map refuses memory outside the runtime's RAM range.
func (DMA) Map(buf []byte) (busAddr uint64, ok bool) {
	if len(buf) == 0 {
		return 0, false
	}
	start, end := runtime.MemRegion()
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
	if addr < start || addr >= end || uint64(len(buf)) > end-addr {
		return 0, false
	}
	return addr, true
}

// Unmap ends a mapping of Map: nothing to undo with identity mapping.
func (DMA) Unmap(busAddr uint64, n int) {}
