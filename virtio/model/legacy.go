package model

import (
	"encoding/binary"

	"tamanet/virtio"
	"tamanet/virtio/virtiopci"
)

// LegacyPCI presents a Device as the legacy PCI register block of I/O BAR
// 0 (4.1.4.8); it satisfies virtio.Ports. Queues have the size the device
// fixes and the legacy layout at the page QUEUE_ADDRESS names.
type LegacyPCI struct {
	regs
	d    *Device
	msix bool // the function's MSI-X is enabled: vector registers present
}

// LegacyPCI returns the device's legacy register block.
func (d *Device) LegacyPCI() *LegacyPCI {
	l := &LegacyPCI{d: d}
	l.regs = regs{d, l}
	return l
}

// SetMSIX says whether the function's MSI-X is enabled, which inserts the
// two vector registers before device configuration.
func (l *LegacyPCI) SetMSIX(on bool) {
	l.d.mu.Lock()
	l.msix = on
	l.d.mu.Unlock()
}

func (l *LegacyPCI) configBase() uint32 {
	if l.msix {
		return virtiopci.DEVICE_CONFIG_MSIX
	}
	return virtiopci.DEVICE_CONFIG
}

// read serves a width-byte read at off. Called with the lock held.
func (l *LegacyPCI) read(off uint32, width int) uint32 {
	d := l.d
	if base := l.configBase(); off >= base {
		var b [4]byte
		d.readConfig(int(off-base), b[:width])
		return binary.LittleEndian.Uint32(b[:])
	}
	sel := d.sel
	switch {
	case off == virtiopci.DEVICE_FEATURES && width == 4:
		return uint32(d.offered(false))
	case off == virtiopci.DRIVER_FEATURES && width == 4:
		return uint32(d.driverFeat)
	case off == virtiopci.QUEUE_ADDRESS && width == 4:
		if q := d.queueNoCount(sel); q != nil && q.Ready {
			return uint32(q.Desc >> virtio.QueueAddrShift)
		}
		return 0
	case off == virtiopci.QUEUE_SIZE && width == 2:
		return uint32(d.queueMax(sel))
	case off == virtiopci.QUEUE_SELECT && width == 2:
		return uint32(sel)
	case off == virtiopci.DEVICE_STATUS && width == 1:
		return uint32(d.status)
	case off == virtiopci.ISR_STATUS && width == 1:
		return uint32(d.readISR())
	case l.msix && off == virtiopci.CONFIG_MSIX_VECTOR && width == 2:
		return uint32(d.configVector)
	case l.msix && off == virtiopci.QUEUE_MSIX_VECTOR && width == 2:
		if q := d.queueNoCount(sel); q != nil {
			return uint32(q.Vector)
		}
		return virtio.NoVector
	}
	d.st.UnknownRegAccesses++
	return 0xFFFFFFFF >> (32 - 8*width)
}

// write serves a width-byte write at off. Called with the lock held; it
// returns the queue to notify, if the write was QUEUE_NOTIFY.
func (l *LegacyPCI) write(off uint32, width int, v uint32) (notify bool, q uint16) {
	d := l.d
	if base := l.configBase(); off >= base {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v)
		d.writeConfig(int(off-base), b[:width])
		return false, 0
	}
	switch {
	case off == virtiopci.DRIVER_FEATURES && width == 4:
		d.setDriverFeatures(uint64(v))
	case off == virtiopci.QUEUE_ADDRESS && width == 4:
		d.legacyQueue(d.sel, uint64(v)<<virtio.QueueAddrShift, d.queueMax(d.sel))
	case off == virtiopci.QUEUE_SELECT && width == 2:
		d.sel = uint16(v)
	case off == virtiopci.QUEUE_NOTIFY && width == 2:
		return true, uint16(v)
	case off == virtiopci.DEVICE_STATUS && width == 1:
		d.setStatus(uint8(v), false)
	case l.msix && off == virtiopci.CONFIG_MSIX_VECTOR && width == 2:
		d.configVector = uint16(v)
	case l.msix && off == virtiopci.QUEUE_MSIX_VECTOR && width == 2:
		if q := d.queue(d.sel); q != nil {
			q.Vector = uint16(v)
		}
	default:
		d.st.UnknownRegAccesses++
	}
	return false, 0
}

// The legacy block is I/O ports: virtio.Ports over the same decoding.

func (l *LegacyPCI) In8(off uint16) uint8       { return l.Read8(uint32(off)) }
func (l *LegacyPCI) In16(off uint16) uint16     { return l.Read16(uint32(off)) }
func (l *LegacyPCI) In32(off uint16) uint32     { return l.Read32(uint32(off)) }
func (l *LegacyPCI) Out8(off uint16, v uint8)   { l.Write8(uint32(off), v) }
func (l *LegacyPCI) Out16(off uint16, v uint16) { l.Write16(uint32(off), v) }
func (l *LegacyPCI) Out32(off uint16, v uint32) { l.Write32(uint32(off), v) }
