//go:build tamago

package kernel

import (
	"sync"
	"unsafe"

	"tamanet/board"
)

// I/O APIC registers (82093AA datasheet, section 3).
const (
	IOREGSEL  = 0x00
	IOWIN     = 0x10
	IOAPICVER = 0x01
	IOREDTBL  = 0x10

	REDTBL_MASK     = 1 << 16
	REDTBL_LEVEL    = 1 << 15
	REDTBL_LOW      = 1 << 13
	REDTBL_VECTOR   = 0xff
	REDTBL_DEST_CPU = 0 // physical destination: APIC ID 0 in the high word
)

type ioapic struct {
	mu      sync.Mutex // IOREGSEL/IOWIN pairs
	base    unsafe.Pointer
	gsiBase uint32
	entries uint32
}

var ioapics []*ioapic

func newIOAPIC(a board.IOAPIC) *ioapic {
	io := &ioapic{base: unsafe.Add(unsafe.Pointer(nil), uintptr(a.Addr)), gsiBase: a.GSIBase}
	io.entries = io.read(IOAPICVER)>>16&0xff + 1
	return io
}

func ioapicFor(gsi uint32) *ioapic {
	for _, io := range ioapics {
		if gsi >= io.gsiBase && gsi < io.gsiBase+io.entries {
			return io
		}
	}
	return nil
}

func (io *ioapic) read(reg uint32) uint32 {
	*(*uint32)(unsafe.Add(io.base, IOREGSEL)) = reg
	return *(*uint32)(unsafe.Add(io.base, IOWIN))
}

func (io *ioapic) write(reg, val uint32) {
	*(*uint32)(unsafe.Add(io.base, IOREGSEL)) = reg
	*(*uint32)(unsafe.Add(io.base, IOWIN)) = val
}

func (io *ioapic) maskAll() {
	io.mu.Lock()
	defer io.mu.Unlock()
	for i := uint32(0); i < io.entries; i++ {
		io.write(IOREDTBL+2*i, REDTBL_MASK)
	}
}

// route points gsi at vector on CPU 0 and unmasks it.
func (io *ioapic) route(gsi uint32, vector int, trig Trigger, pol Polarity) {
	low := uint32(vector) & REDTBL_VECTOR
	if trig == Level {
		low |= REDTBL_LEVEL
	}
	if pol == ActiveLow {
		low |= REDTBL_LOW
	}
	i := gsi - io.gsiBase
	io.mu.Lock()
	defer io.mu.Unlock()
	io.write(IOREDTBL+2*i+1, REDTBL_DEST_CPU)
	io.write(IOREDTBL+2*i, low)
}

func (io *ioapic) mask(gsi uint32) {
	i := gsi - io.gsiBase
	io.mu.Lock()
	defer io.mu.Unlock()
	io.write(IOREDTBL+2*i, io.read(IOREDTBL+2*i)|REDTBL_MASK)
}
