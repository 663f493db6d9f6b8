package model

import (
	"encoding/binary"

	"tamanet/virtio"
	"tamanet/virtio/virtiopci"
)

// The modern PCI layer's memory BAR, laid out as QEMU lays out its
// virtio-pci devices: one 4 KiB page per structure, notifications 4 bytes
// apart per queue.
const (
	PCICommon     = 0x0000
	PCIISR        = 0x1000
	PCIDevice     = 0x2000
	PCINotify     = 0x3000
	PCIPage       = 0x1000
	PCIBARSize    = 0x4000
	PCINotifyMult = 4
)

// ModernPCI presents a Device as the modern PCI transport's structures
// (4.1.4) in one memory BAR; it satisfies virtio.Window. Each common
// configuration field takes accesses of its own width only (4.1.3.1);
// 64-bit fields take two 32-bit ones.
type ModernPCI struct {
	regs
	d              *Device
	devSel, drvSel uint32
}

// ModernPCI returns the device's memory BAR.
func (d *Device) ModernPCI() *ModernPCI {
	m := &ModernPCI{d: d}
	m.regs = regs{d, m}
	return m
}

// Regions returns the four structures as virtiopci.NewModern takes them.
func (m *ModernPCI) Regions() (common, notify, isr, device virtiopci.Region, notifyMult uint32) {
	r := func(off uint32) virtiopci.Region { return virtiopci.Region{W: m, Off: off, Len: PCIPage} }
	return r(PCICommon), r(PCINotify), r(PCIISR), r(PCIDevice), PCINotifyMult
}

// field is one common configuration field: its width in bytes.
var field = map[uint32]int{
	virtiopci.DEVICE_FEATURE_SELECT: 4, virtiopci.DEVICE_FEATURE: 4,
	virtiopci.DRIVER_FEATURE_SELECT: 4, virtiopci.DRIVER_FEATURE: 4,
	virtiopci.CONFIG_MSIX: 2, virtiopci.NUM_QUEUES: 2,
	virtiopci.COMMON_STATUS: 1, virtiopci.CONFIG_GENERATION: 1,
	virtiopci.Q_SELECT: 2, virtiopci.Q_SIZE: 2, virtiopci.Q_MSIX_VECTOR: 2,
	virtiopci.Q_ENABLE: 2, virtiopci.Q_NOTIFY_OFF: 2,
	virtiopci.Q_DESC: 4, virtiopci.Q_DESC + 4: 4,
	virtiopci.Q_DRIVER: 4, virtiopci.Q_DRIVER + 4: 4,
	virtiopci.Q_DEVICE: 4, virtiopci.Q_DEVICE + 4: 4,
}

func (m *ModernPCI) read(off uint32, width int) uint32 {
	d := m.d
	switch {
	case off >= PCIDevice && off < PCIDevice+PCIPage:
		var b [4]byte
		d.readConfig(int(off-PCIDevice), b[:width])
		return binary.LittleEndian.Uint32(b[:])
	case off == PCIISR && width == 1:
		return uint32(d.readISR())
	case off >= PCIPage || field[off] != width:
		d.st.UnknownRegAccesses++
		return 0xFFFFFFFF >> (32 - 8*width)
	}
	q := d.queueNoCount(d.sel)
	if q == nil {
		q = &Queue{Vector: virtio.NoVector}
	}
	switch off {
	case virtiopci.DEVICE_FEATURE_SELECT:
		return m.devSel
	case virtiopci.DEVICE_FEATURE:
		if m.devSel > 1 {
			return 0
		}
		return uint32(d.offered(true) >> (32 * m.devSel))
	case virtiopci.DRIVER_FEATURE_SELECT:
		return m.drvSel
	case virtiopci.DRIVER_FEATURE:
		if m.drvSel > 1 {
			return 0
		}
		return uint32(d.driverFeat >> (32 * m.drvSel))
	case virtiopci.CONFIG_MSIX:
		return uint32(d.configVector)
	case virtiopci.NUM_QUEUES:
		return uint32(len(d.queues))
	case virtiopci.COMMON_STATUS:
		return uint32(d.status)
	case virtiopci.CONFIG_GENERATION:
		return d.gen & 0xFF
	case virtiopci.Q_SELECT:
		return uint32(d.sel)
	case virtiopci.Q_SIZE:
		if q.Size == 0 {
			return uint32(d.queueMax(d.sel))
		}
		return uint32(q.Size)
	case virtiopci.Q_MSIX_VECTOR:
		return uint32(q.Vector)
	case virtiopci.Q_ENABLE:
		if q.Ready {
			return 1
		}
		return 0
	case virtiopci.Q_NOTIFY_OFF:
		return uint32(d.sel) // queue q notifies at q * PCINotifyMult
	case virtiopci.Q_DESC, virtiopci.Q_DESC + 4:
		return half(q.Desc, off-virtiopci.Q_DESC)
	case virtiopci.Q_DRIVER, virtiopci.Q_DRIVER + 4:
		return half(q.Avail, off-virtiopci.Q_DRIVER)
	case virtiopci.Q_DEVICE, virtiopci.Q_DEVICE + 4:
		return half(q.Used, off-virtiopci.Q_DEVICE)
	}
	return 0
}

func half(v uint64, at uint32) uint32 { return uint32(v >> (8 * at)) }

func (m *ModernPCI) write(off uint32, width int, v uint32) (notify bool, qi uint16) {
	d := m.d
	switch {
	case off >= PCIDevice && off < PCIDevice+PCIPage:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v)
		d.writeConfig(int(off-PCIDevice), b[:width])
		return false, 0
	case off >= PCINotify && off < PCINotify+PCIPage && width == 2 && (off-PCINotify)%PCINotifyMult == 0:
		q := uint16((off - PCINotify) / PCINotifyMult)
		if uint16(v) != q {
			d.st.BadQueue++ // the index written must be the queue's (4.1.4.4)
		}
		return true, q
	case off >= PCIPage || field[off] != width:
		d.st.UnknownRegAccesses++
		return false, 0
	}
	// Queue fields of a queue that does not exist are dropped; those of
	// an enabled queue are read-only (4.1.4.3.2).
	q := d.queue(d.sel)
	qWrite := func() *Queue {
		if q == nil || q.Ready {
			d.st.BadQueue++
			return &Queue{}
		}
		return q
	}
	switch off {
	case virtiopci.DEVICE_FEATURE_SELECT:
		m.devSel = v
	case virtiopci.DRIVER_FEATURE_SELECT:
		m.drvSel = v
	case virtiopci.DRIVER_FEATURE:
		d.setDriverFeatureWord(m.drvSel, v)
	case virtiopci.CONFIG_MSIX:
		d.configVector = uint16(v)
	case virtiopci.COMMON_STATUS:
		d.setStatus(uint8(v), true)
		if v == 0 {
			m.devSel, m.drvSel = 0, 0
		}
	case virtiopci.Q_SELECT:
		d.sel = uint16(v)
	case virtiopci.Q_SIZE:
		qw := qWrite()
		if v == 0 || v > uint32(d.queueMax(d.sel)) || v&(v-1) != 0 {
			d.st.BadQueue++
			return false, 0
		}
		qw.Size = uint16(v)
	case virtiopci.Q_MSIX_VECTOR:
		if q != nil {
			q.Vector = uint16(v)
		}
	case virtiopci.Q_ENABLE:
		qw := qWrite()
		if v == 1 {
			if qw.Size == 0 {
				qw.Size = d.queueMax(d.sel)
			}
			qw.Ready = qw.Size != 0
		}
	case virtiopci.Q_DESC, virtiopci.Q_DESC + 4:
		setHalf(&qWrite().Desc, off != virtiopci.Q_DESC, v)
	case virtiopci.Q_DRIVER, virtiopci.Q_DRIVER + 4:
		setHalf(&qWrite().Avail, off != virtiopci.Q_DRIVER, v)
	case virtiopci.Q_DEVICE, virtiopci.Q_DEVICE + 4:
		setHalf(&qWrite().Used, off != virtiopci.Q_DEVICE, v)
	default:
		d.st.UnknownRegAccesses++ // a read-only field
	}
	return false, 0
}
