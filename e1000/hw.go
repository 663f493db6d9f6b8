package e1000

// Registers is 32-bit access to the device's memory-mapped register space:
// MMIO at BAR0 on hardware, a device model in tests.
type Registers interface {
	Read32(off uint32) uint32
	Write32(off uint32, val uint32)
}

// DMA allocates memory the device can read and write. busAddr is the address
// the device uses for buf[0]; buf stays valid and fixed for the driver's life.
type DMA interface {
	Alloc(size, align int) (buf []byte, busAddr uint64, err error)
}

// DMAMapper is implemented by a DMA allocator that can also lend the device
// memory it did not allocate, for a while (Linux's dma_map_single): the
// transmit path uses it to let the device read a frame's bytes where the
// stack keeps them instead of from a copy. On the unikernel memory is
// identity mapped, so a heap buffer's address is its bus address; in host
// tests the device model's arena hands out a window of fake bus addresses
// that ends with Unmap.
type DMAMapper interface {
	// Map returns the bus address of buf[0], valid until Unmap, or false
	// if the device cannot reach buf.
	Map(buf []byte) (busAddr uint64, ok bool)
	// Unmap ends a mapping of n bytes that Map made at busAddr.
	Unmap(busAddr uint64, n int)
}
