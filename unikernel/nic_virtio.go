//go:build tamago

package unikernel

import "tamanet/pci"

// registerVirtioNet adds the virtio-net driver (over virtio's PCI
// transports) to reg. The driver lands with issue 21's virtio-net branch.
func registerVirtioNet(reg *pci.Registry, cfg nicConfig, bind bindFunc) error { return nil }

// probeVirtioMMIO binds virtio-net devices on virtio-mmio transports
// (microvm).
func probeVirtioMMIO(cfg nicConfig, bind bindFunc) error { return nil }
