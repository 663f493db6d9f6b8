// Package virtiopci finds virtio devices on PCI (Virtual I/O Device
// specification 1.2, 4.1) and gives their drivers a virtio.Transport: the
// modern transport (4.1.4: vendor capabilities pointing into memory BARs)
// when the function has it, else the legacy I/O BAR 0 register block of a
// transitional device (4.1.4.8). One pci.Driver serves every virtio device
// type the platform has a binder for.
package virtiopci

import (
	"errors"
	"fmt"

	"tamanet/pci"
	"tamanet/virtio"
)

// PCI device IDs (4.1.2): modern devices are ModernBase plus the virtio
// device ID; transitional ones (which also have the legacy interface) are
// in [TransitionalFirst, TransitionalLast] and carry the virtio device ID
// in their subsystem ID.
const (
	TransitionalFirst = 0x1000
	TransitionalLast  = 0x103F
	ModernBase        = 0x1040
	ModernLast        = 0x107F
)

// transitional maps virtio device IDs to their transitional PCI device ID
// (4.1.2.1).
var transitional = map[uint16]uint16{
	1: 0x1000, // network card
	2: 0x1001, // block device
	5: 0x1002, // memory ballooning
	3: 0x1003, // console
	8: 0x1004, // SCSI host
	4: 0x1005, // entropy source
	9: 0x1009, // 9P transport
}

// Virtio structure types of the vendor capability's cfg_type (4.1.4).
const (
	VIRTIO_PCI_CAP_COMMON_CFG = 1
	VIRTIO_PCI_CAP_NOTIFY_CFG = 2
	VIRTIO_PCI_CAP_ISR_CFG    = 3
	VIRTIO_PCI_CAP_DEVICE_CFG = 4
	VIRTIO_PCI_CAP_PCI_CFG    = 5
)

// Offsets in struct virtio_pci_cap from the capability's start.
const (
	capCfgType    = 3
	capBar        = 4
	capOffset     = 8
	capLength     = 12
	capNotifyMult = 16 // virtio_pci_notify_cap only
)

// MSI-X Message Control (PCI 3.0 6.8.2.3): the enable bit.
const (
	msixControl = 2
	msixEnable  = 1 << 15
)

// ErrNoTransport is a function with neither usable modern capabilities
// nor a legacy I/O BAR 0.
var ErrNoTransport = errors.New("virtio-pci: no usable transport")

// Binder takes a device's transport over: the driver for one virtio
// device type. An error fails the probe.
type Binder func(t virtio.Transport, pd *pci.Device) error

// Platform is what the kernel lends discovery.
type Platform struct {
	// MapMemory returns a register window on a memory BAR (8, 16 and
	// 32-bit accesses).
	MapMemory func(bar pci.BAR) (virtio.Window, error)
	// MapIO returns access to an I/O BAR (port I/O on hardware).
	MapIO func(bar pci.BAR) (virtio.Ports, error)
	// Bind holds the binder for each virtio device ID (virtio.DeviceNet,
	// virtio.DeviceEntropy...); functions of other types are left alone.
	Bind map[uint16]Binder
	// NoModern uses the legacy interface even where the modern one is
	// available (for tests and comparisons).
	NoModern bool
}

// Register adds one driver, "virtio-pci", to reg (pci.Default when nil)
// matching the modern and transitional PCI IDs of every device type in
// p.Bind.
func Register(reg *pci.Registry, p Platform) error {
	if reg == nil {
		reg = &pci.Default
	}
	var ids []pci.ID
	for id := range uint16(ModernLast - ModernBase + 1) {
		if p.Bind[id] == nil {
			continue
		}
		ids = append(ids, pci.ID{Vendor: virtio.VendorID, Device: ModernBase + id})
		if t, ok := transitional[id]; ok {
			ids = append(ids, pci.ID{Vendor: virtio.VendorID, Device: t})
		}
	}
	return reg.Register(pci.Driver{Name: "virtio-pci", IDs: ids, Probe: p.probe})
}

// DeviceID returns the virtio device ID of a virtio PCI function.
func DeviceID(pd *pci.Device) (uint16, bool) {
	switch {
	case pd.VendorID != virtio.VendorID:
		return 0, false
	case pd.DeviceID >= ModernBase && pd.DeviceID <= ModernLast:
		return pd.DeviceID - ModernBase, true
	case pd.DeviceID >= TransitionalFirst && pd.DeviceID <= TransitionalLast:
		return pd.SubsystemID, true
	}
	return 0, false
}

func (p Platform) probe(pd *pci.Device) error {
	id, ok := DeviceID(pd)
	bind := p.Bind[id]
	if !ok || bind == nil {
		return fmt.Errorf("virtio-pci: no driver for virtio device ID %d", id)
	}
	t, err := p.Transport(pd)
	if err != nil {
		return err
	}
	pd.EnableBusMaster()
	return bind(t, pd)
}

// Transport builds pd's transport: modern when its capabilities map,
// legacy otherwise. It enables the decoding the transport needs.
func (p Platform) Transport(pd *pci.Device) (virtio.Transport, error) {
	var modernErr error
	if !p.NoModern {
		// Decoding first: NewModern reads num_queues from the BAR.
		pd.EnableMemory()
		t, err := p.modern(pd)
		if err == nil {
			return t, nil
		}
		modernErr = err
	}
	t, err := p.legacy(pd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoTransport, errors.Join(modernErr, err))
	}
	pd.EnableIO()
	return t, nil
}

// legacy is the register block in I/O BAR 0 of a transitional device.
func (p Platform) legacy(pd *pci.Device) (*Legacy, error) {
	if pd.DeviceID > TransitionalLast {
		return nil, errors.New("legacy: not a transitional device")
	}
	for _, b := range pd.BARs {
		if b.Index == 0 && b.Kind == pci.BARIO && b.Addr != 0 {
			ports, err := p.MapIO(b)
			if err != nil {
				return nil, fmt.Errorf("legacy: mapping %v: %w", b, err)
			}
			return NewLegacy(ports, msixEnabled(pd)), nil
		}
	}
	return nil, errors.New("legacy: no I/O BAR 0")
}

// msixEnabled reads the function's MSI-X enable bit when asked (nil: no
// MSI-X capability).
func msixEnabled(pd *pci.Device) func() bool {
	off, ok := pd.FindCapability(pci.CAP_ID_MSIX)
	if !ok {
		return nil
	}
	return func() bool { return pd.Read16(off+msixControl)&msixEnable != 0 }
}

// modern walks the vendor capabilities (4.1.4) for the common, notify,
// ISR and device structures, the first of each type whose BAR maps (a
// driver uses the first it can, 4.1.4.1).
func (p Platform) modern(pd *pci.Device) (*Modern, error) {
	if p.MapMemory == nil {
		return nil, errors.New("modern: no memory mapping")
	}
	var regions [VIRTIO_PCI_CAP_DEVICE_CFG + 1]Region
	var mult uint32
	windows := map[uint8]virtio.Window{}
	var errs []error
	for _, c := range pd.Capabilities {
		if c.ID != pci.CAP_ID_VENDOR {
			continue
		}
		typ := pd.Read8(c.Offset + capCfgType)
		if typ < VIRTIO_PCI_CAP_COMMON_CFG || typ > VIRTIO_PCI_CAP_DEVICE_CFG || regions[typ].W != nil {
			continue
		}
		bar, off, length := pd.Read8(c.Offset+capBar), pd.Read32(c.Offset+capOffset), pd.Read32(c.Offset+capLength)
		w, err := p.window(pd, bar, off, length, windows)
		if err != nil {
			errs = append(errs, fmt.Errorf("modern: structure type %d: %w", typ, err))
			continue
		}
		regions[typ] = Region{W: w, Off: off, Len: length}
		if typ == VIRTIO_PCI_CAP_NOTIFY_CFG {
			mult = pd.Read32(c.Offset + capNotifyMult)
		}
	}
	if regions[VIRTIO_PCI_CAP_COMMON_CFG].W == nil {
		return nil, errors.Join(append(errs, errors.New("modern: no common configuration capability"))...)
	}
	return NewModern(regions[VIRTIO_PCI_CAP_COMMON_CFG], regions[VIRTIO_PCI_CAP_NOTIFY_CFG],
		regions[VIRTIO_PCI_CAP_ISR_CFG], regions[VIRTIO_PCI_CAP_DEVICE_CFG], mult)
}

// window maps memory BAR index (once per BAR) after checking the
// structure [off, off+length) lies inside it.
func (p Platform) window(pd *pci.Device, index uint8, off, length uint32, mapped map[uint8]virtio.Window) (virtio.Window, error) {
	if w, ok := mapped[index]; ok {
		return w, nil
	}
	for _, b := range pd.BARs {
		if b.Index != index || b.Kind == pci.BARIO {
			continue
		}
		if b.Addr == 0 || uint64(off)+uint64(length) > b.Size {
			return nil, fmt.Errorf("[%#x, +%#x) not inside %v", off, length, b)
		}
		w, err := p.MapMemory(b)
		if err != nil {
			return nil, fmt.Errorf("mapping %v: %w", b, err)
		}
		mapped[index] = w
		return w, nil
	}
	return nil, fmt.Errorf("no memory BAR%d", index)
}
