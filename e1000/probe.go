package e1000

import (
	"errors"
	"fmt"

	"tamanet/pci"
)

// PCI identity of the 82540EM (QEMU's default "e1000").
const (
	VendorIntel   = 0x8086
	Device82540EM = 0x100E
)

// ErrNoMemoryBAR is a matching function without a memory BAR 0.
var ErrNoMemoryBAR = errors.New("e1000: no memory BAR 0")

// Platform is what the kernel lends the driver to bring up a PCI function.
type Platform struct {
	// Map returns register access to a memory BAR (MMIO on hardware).
	Map func(bar pci.BAR) (Registers, error)
	// DMA allocates the rings and buffers.
	DMA DMA
	// Config configures every device probed.
	Config Config
	// Bound receives each device brought up, with its PCI function; the
	// kernel routes pd.INTx() to d.HandleInterrupt and runs d.NAPI(). If it
	// returns an error the probe fails with it.
	Bound func(d *Device, pd *pci.Device) error
}

// Register adds the driver for 8086:100e to reg (pci.Default when nil).
func Register(reg *pci.Registry, p Platform) error {
	if reg == nil {
		reg = &pci.Default
	}
	return reg.Register(pci.Driver{
		Name:  "e1000",
		IDs:   []pci.ID{{Vendor: VendorIntel, Device: Device82540EM}},
		Probe: p.probe,
	})
}

// probe maps BAR 0, enables memory decoding and bus mastering, and brings
// the device up with New.
func (p Platform) probe(pd *pci.Device) error {
	var bar0 *pci.BAR
	for i := range pd.BARs {
		if b := &pd.BARs[i]; b.Index == 0 && b.Kind != pci.BARIO && b.Addr != 0 {
			bar0 = b
		}
	}
	if bar0 == nil {
		return ErrNoMemoryBAR
	}
	regs, err := p.Map(*bar0)
	if err != nil {
		return fmt.Errorf("e1000: mapping %v: %w", *bar0, err)
	}
	pd.EnableMemory()
	pd.EnableBusMaster()
	d, err := New(regs, p.DMA, p.Config)
	if err != nil {
		return err
	}
	if p.Bound != nil {
		return p.Bound(d, pd)
	}
	return nil
}
