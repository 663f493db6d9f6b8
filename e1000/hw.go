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
