package rng

import (
	"errors"
	"fmt"

	"tamanet/pci"
	"tamanet/virtio"
)

// ErrNoIOBAR is a matching function without the legacy interface's I/O
// BAR 0 (a modern-only device, or one firmware left unassigned).
var ErrNoIOBAR = errors.New("virtio-rng: no I/O BAR 0 (legacy interface)")

// Platform is what the kernel lends the driver to bring up a PCI function.
type Platform struct {
	// Ports returns access to an I/O BAR (port I/O on hardware).
	Ports func(bar pci.BAR) (virtio.Ports, error)
	// DMA allocates the queue and the request buffer.
	DMA virtio.DMA
	// Config configures every device probed.
	Config Config
	// Bound receives each device brought up, with its PCI function. If it
	// returns an error the probe fails with it.
	Bound func(r *RNG, pd *pci.Device) error
}

// Register adds the driver for the transitional virtio entropy device
// (1af4:1005) to reg (pci.Default when nil).
func Register(reg *pci.Registry, p Platform) error {
	if reg == nil {
		reg = &pci.Default
	}
	return reg.Register(pci.Driver{
		Name:  "virtio-rng",
		IDs:   []pci.ID{{Vendor: virtio.VendorID, Device: virtio.DeviceIDTransitionalEntropy}},
		Probe: p.probe,
	})
}

// probe checks the subsystem ID names an entropy device (4.1.2.1), takes
// I/O BAR 0, enables I/O decoding and bus mastering and brings the device
// up with New.
func (p Platform) probe(pd *pci.Device) error {
	if pd.SubsystemID != virtio.SubsystemEntropy {
		return fmt.Errorf("virtio-rng: subsystem ID %#x, want %#x (entropy)", pd.SubsystemID, virtio.SubsystemEntropy)
	}
	var bar0 *pci.BAR
	for i := range pd.BARs {
		if b := &pd.BARs[i]; b.Index == 0 && b.Kind == pci.BARIO && b.Addr != 0 {
			bar0 = b
		}
	}
	if bar0 == nil {
		return ErrNoIOBAR
	}
	ports, err := p.Ports(*bar0)
	if err != nil {
		return fmt.Errorf("virtio-rng: mapping %v: %w", *bar0, err)
	}
	pd.EnableIO()
	pd.EnableBusMaster()
	r, err := New(ports, p.DMA, p.Config)
	if err != nil {
		return err
	}
	if p.Bound != nil {
		return p.Bound(r, pd)
	}
	return nil
}
