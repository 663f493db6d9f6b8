package virtio

import (
	"fmt"
	"time"
)

// resetTimeout bounds the wait for a device to come back from reset;
// QEMU's devices reset within the status write.
const resetTimeout = time.Second

// WaitReset polls status until it reads 0, as a driver must after writing
// 0 (4.1.4.3.2, 4.2.2.1), for at most resetTimeout. Transports call it
// from Reset.
func WaitReset(status func() uint8) error {
	deadline := time.Now().Add(resetTimeout)
	for {
		s := status()
		if s == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("virtio: status %#x %v after reset, want 0", s, resetTimeout)
		}
	}
}

// ReadWindow fills p from w at off, each piece with the widest naturally
// aligned access that fits: a field read with a buffer of its size gets
// one access of its width, as 4.1.3.1 and 4.2.2.2 ask of drivers for
// device-specific configuration.
func ReadWindow(w Window, off uint32, p []byte) {
	for len(p) > 0 {
		switch {
		case off%4 == 0 && len(p) >= 4:
			v := w.Read32(off)
			p[0], p[1], p[2], p[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
			off, p = off+4, p[4:]
		case off%2 == 0 && len(p) >= 2:
			v := w.Read16(off)
			p[0], p[1] = byte(v), byte(v>>8)
			off, p = off+2, p[2:]
		default:
			p[0] = w.Read8(off)
			off, p = off+1, p[1:]
		}
	}
}

// WriteWindow writes p to w at off, with the accesses ReadWindow uses.
func WriteWindow(w Window, off uint32, p []byte) {
	for len(p) > 0 {
		switch {
		case off%4 == 0 && len(p) >= 4:
			w.Write32(off, uint32(p[0])|uint32(p[1])<<8|uint32(p[2])<<16|uint32(p[3])<<24)
			off, p = off+4, p[4:]
		case off%2 == 0 && len(p) >= 2:
			w.Write16(off, uint16(p[0])|uint16(p[1])<<8)
			off, p = off+2, p[2:]
		default:
			w.Write8(off, p[0])
			off, p = off+1, p[1:]
		}
	}
}

// PortsWindow presents a legacy I/O register block as a Window, so one
// piece of code reads device configuration on every transport.
type PortsWindow struct{ Ports }

func (p PortsWindow) Read8(off uint32) uint8       { return p.In8(uint16(off)) }
func (p PortsWindow) Read16(off uint32) uint16     { return p.In16(uint16(off)) }
func (p PortsWindow) Read32(off uint32) uint32     { return p.In32(uint16(off)) }
func (p PortsWindow) Write8(off uint32, v uint8)   { p.Out8(uint16(off), v) }
func (p PortsWindow) Write16(off uint32, v uint16) { p.Out16(uint16(off), v) }
func (p PortsWindow) Write32(off uint32, v uint32) { p.Out32(uint16(off), v) }

// LegacyRing returns where the legacy layout (2.7.2) puts the rings of a
// queue of size entries whose block starts at base: the available ring
// right after the descriptors, the used ring on the next QueueAlign
// boundary. Legacy transports check a queue against it, since they tell
// the device the base only.
func LegacyRing(base uint64, size uint16) RingAddrs {
	n := int(size)
	return RingAddrs{
		Desc:  base,
		Avail: base + uint64(DescSize*n),
		Used:  base + uint64(alignUp(DescSize*n+ringEntries+2*n+2, QueueAlign)),
	}
}

// CheckLegacyRing reports a queue a legacy device cannot take: rings not
// in the legacy layout, or a base beyond what a 32-bit page number holds.
func CheckLegacyRing(q uint16, size uint16, r RingAddrs) error {
	if r != LegacyRing(r.Desc, size) || r.Desc%QueueAlign != 0 || r.Desc>>QueueAddrShift > 0xFFFFFFFF {
		return fmt.Errorf("%w: queue %d's rings %+v are not in the legacy layout for %d entries", ErrDMA, q, r, size)
	}
	return nil
}
