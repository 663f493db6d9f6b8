package model

import (
	"fmt"

	"tamanet/virtio"
	"tamanet/virtio/mmio"
	"tamanet/virtio/virtiopci"
)

// Kinds names the transports Transport builds, as virtio.Transport.Name
// names them.
var Kinds = []string{"pci-modern", "pci-legacy", "mmio-v2", "mmio-v1"}

// Transport puts d behind the register layer of kind (one of Kinds) and
// returns the driver's transport over it, so a driver's host tests run on
// every transport.
func (d *Device) Transport(kind string) (virtio.Transport, error) {
	switch kind {
	case "pci-modern":
		return virtiopci.NewModern(d.ModernPCI().Regions())
	case "pci-legacy":
		return virtiopci.NewLegacy(d.LegacyPCI(), nil), nil
	case "mmio-v2":
		return mmio.New(d.MMIO(2), MMIOSize)
	case "mmio-v1":
		return mmio.New(d.MMIO(1), MMIOSize)
	}
	return nil, fmt.Errorf("model: no transport %q", kind)
}
