//go:build tamago

// Package virtioboard lends virtio discovery this board's register
// access: memory BARs and virtio-mmio windows through board.MapMMIO, I/O
// BARs through board.MapIO, and the places microvm names its virtio-mmio
// transports (the kernel command line's virtio_mmio.device= entries
// without ACPI, the DSDT with it). Every virtio driver's bring-up
// (entropy, network) shares it.
package virtioboard

import (
	"errors"

	"tamanet/board"
	"tamanet/pci"
	"tamanet/virtio"
	"tamanet/virtio/mmio"
	"tamanet/virtio/virtiopci"
)

// PCI returns the platform virtiopci.Register takes, with the binders for
// each virtio device ID.
func PCI(bind map[uint16]virtiopci.Binder) virtiopci.Platform {
	return virtiopci.Platform{
		MapMemory: func(bar pci.BAR) (virtio.Window, error) { return board.MapMMIO(bar.Addr, bar.Size) },
		MapIO:     func(bar pci.BAR) (virtio.Ports, error) { return board.MapIO(bar.Addr, bar.Size) },
		Bind:      bind,
	}
}

// MMIOEntries returns the virtio-mmio transports the command line and the
// DSDT name, each once, and the malformed command-line entries' errors.
func MMIOEntries() ([]mmio.Entry, error) {
	fromCmdline, err := mmio.ParseCommandLine(board.CommandLine())
	var fromACPI []mmio.Entry
	if a, aerr := board.ReadACPI(); aerr == nil {
		fromACPI = mmio.ParseDSDT(a.DSDT)
	}
	return mmio.Merge(fromCmdline, fromACPI), err
}

// ProbeMMIO finds the virtio-mmio devices (MMIOEntries) and hands each to
// its binder (see mmio.Probe).
func ProbeMMIO(bind map[uint16]mmio.Binder) ([]mmio.Device, mmio.Stats, error) {
	entries, err := MMIOEntries()
	found, st, perr := mmio.Probe(entries, mmio.Platform{
		Map:  func(base, size uint64) (virtio.Window, error) { return board.MapMMIO(base, size) },
		Bind: bind,
	})
	return found, st, errors.Join(err, perr)
}
