package model

import (
	"encoding/binary"

	"tamanet/virtio"
	"tamanet/virtio/mmio"
)

// MMIOSize is the register window of a virtio-mmio transport on QEMU.
const MMIOSize = 0x200

// MMIO presents a Device as a virtio-mmio transport (4.2.2; version 1,
// the legacy layout, 4.2.4); it satisfies virtio.Window. Registers take
// 32-bit accesses only; other widths are counted and ignored, as on
// device configuration they are allowed.
type MMIO struct {
	regs
	d       *Device
	version uint32
	// Feature selects, and version 1's page size and queue alignment.
	devSel, drvSel      uint32
	pageSize, alignment uint32
	// pending is version 2's queue setup until QueueReady.
	pending Queue
}

// MMIO returns the device's virtio-mmio window of the given version.
func (d *Device) MMIO(version uint32) *MMIO {
	m := &MMIO{d: d, version: version}
	m.regs = regs{d, m}
	return m
}

func (m *MMIO) read(off uint32, width int) uint32 {
	d := m.d
	if off >= mmio.Config {
		var b [4]byte
		d.readConfig(int(off-mmio.Config), b[:width])
		return binary.LittleEndian.Uint32(b[:])
	}
	if width != 4 {
		d.st.UnknownRegAccesses++
		return 0
	}
	q := d.queueNoCount(d.sel)
	switch off {
	case mmio.MagicValue:
		return mmio.Magic
	case mmio.Version:
		return m.version
	case mmio.DeviceID:
		return d.spec.DeviceID
	case mmio.VendorID:
		return 0x554D4551 // "QEMU"
	case mmio.DeviceFeatures:
		f := d.offered(m.version == 2)
		if m.devSel == 1 && m.version == 2 {
			return uint32(f >> 32)
		}
		if m.devSel != 0 {
			return 0
		}
		return uint32(f)
	case mmio.QueueNumMax:
		return uint32(d.queueMax(d.sel))
	case mmio.QueuePFN:
		if m.version == 1 && q != nil && q.Ready {
			return uint32(q.Desc / uint64(max(m.pageSize, 1)))
		}
		return 0
	case mmio.QueueReady:
		if m.version == 2 && q != nil && q.Ready {
			return 1
		}
		return 0
	case mmio.InterruptStatus:
		return uint32(d.isr)
	case mmio.Status:
		return uint32(d.status)
	case mmio.ConfigGeneration:
		return d.gen
	}
	d.st.UnknownRegAccesses++
	return 0
}

func (m *MMIO) write(off uint32, width int, v uint32) (notify bool, q uint16) {
	d := m.d
	if off >= mmio.Config {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v)
		d.writeConfig(int(off-mmio.Config), b[:width])
		return false, 0
	}
	if width != 4 {
		d.st.UnknownRegAccesses++
		return false, 0
	}
	p := &m.pending
	switch off {
	case mmio.DeviceFeaturesSel:
		m.devSel = v
	case mmio.DriverFeaturesSel:
		m.drvSel = v
	case mmio.DriverFeatures:
		d.setDriverFeatureWord(m.drvSel, v)
	case mmio.GuestPageSize:
		m.pageSize = v
	case mmio.QueueSel:
		d.sel, m.pending = uint16(v), Queue{}
	case mmio.QueueNum:
		p.Size = uint16(v)
	case mmio.QueueAlign:
		m.alignment = v
	case mmio.QueuePFN:
		m.setPFN(v)
	case mmio.QueueReady:
		m.setReady(v)
	case mmio.QueueDescLow, mmio.QueueDescHigh:
		setHalf(&p.Desc, off == mmio.QueueDescHigh, v)
	case mmio.QueueDriverLow, mmio.QueueDriverHigh:
		setHalf(&p.Avail, off == mmio.QueueDriverHigh, v)
	case mmio.QueueDeviceLow, mmio.QueueDeviceHigh:
		setHalf(&p.Used, off == mmio.QueueDeviceHigh, v)
	case mmio.QueueNotify:
		return true, uint16(v)
	case mmio.InterruptACK:
		d.isr &^= uint8(v)
	case mmio.Status:
		d.setStatus(uint8(v), m.version == 2)
		if v == 0 {
			m.devSel, m.drvSel, m.pending = 0, 0, Queue{}
		}
	default:
		d.st.UnknownRegAccesses++
	}
	return false, 0
}

func setHalf(a *uint64, high bool, v uint32) {
	if high {
		*a = *a&0xFFFFFFFF | uint64(v)<<32
	} else {
		*a = *a&^0xFFFFFFFF | uint64(v)
	}
}

// setPFN is version 1's queue setup: the legacy layout at the page,
// which this model supports with 4096-byte pages and alignment only.
func (m *MMIO) setPFN(v uint32) {
	d := m.d
	if m.version != 1 {
		d.st.UnknownRegAccesses++
		return
	}
	size := m.pending.Size
	if v != 0 && (m.pageSize != virtio.QueueAlign || m.alignment != virtio.QueueAlign ||
		size == 0 || size > d.queueMax(d.sel) || size&(size-1) != 0) {
		d.st.BadQueue++
		return
	}
	d.legacyQueue(d.sel, uint64(v)*uint64(m.pageSize), size)
}

// setReady is version 2's QueueReady: 1 takes the pending setup, 0
// disables the queue.
func (m *MMIO) setReady(v uint32) {
	d := m.d
	q := d.queue(d.sel)
	switch {
	case m.version != 2:
		d.st.UnknownRegAccesses++
	case q == nil:
	case v == 0:
		*q = Queue{Vector: virtio.NoVector}
	default:
		p := m.pending
		if p.Size == 0 || p.Size > d.queueMax(d.sel) || p.Size&(p.Size-1) != 0 {
			d.st.BadQueue++
			return
		}
		p.Ready, p.Vector = true, virtio.NoVector
		*q = p
	}
}
