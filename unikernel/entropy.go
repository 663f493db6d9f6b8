//go:build tamago

package unikernel

import (
	"errors"
	"fmt"
	"os"
	"time"

	"tamanet/board"
	"tamanet/pci"
	"tamanet/virtio"
	"tamanet/virtio/rng"
)

// reseedPeriod is how often the random generator takes fresh bytes from a
// virtio-rng device.
const reseedPeriod = time.Minute

// errNoEntropy is a machine with nothing to draw unpredictable numbers
// from. gVisor takes TCP initial sequence numbers and port secrets from
// crypto/rand, so predictable ones would let anyone off the path inject
// into connections.
var errNoEntropy = errors.New("no entropy source: the CPU lacks RDRAND and there is no virtio-rng device; " +
	"start QEMU with -cpu ...,+rdrand or -device virtio-rng-pci, " +
	"or boot with rng=insecure to accept predictable TCP sequence numbers")

// entropy is the virtio-rng device, if the PCI bus has one.
type entropy struct {
	dev *rng.RNG
	pci *pci.Device
}

// register adds the virtio-rng driver to reg; a device it binds is kept.
func (e *entropy) register(reg *pci.Registry) error {
	return rng.Register(reg, rng.Platform{
		Ports: func(bar pci.BAR) (virtio.Ports, error) { return board.MapIO(bar.Addr, bar.Size) },
		DMA:   board.DMA{},
		Bound: func(r *rng.RNG, pd *pci.Device) error {
			if e.dev != nil {
				return fmt.Errorf("tamanet uses one virtio-rng and has %s", e.pci.Addr)
			}
			e.dev, e.pci = r, pd
			return nil
		},
	})
}

// choose decides where random numbers come from, before anything draws
// them for the network: RDRAND when the CPU has it, else the virtio-rng
// device (which then keys the board's generator, reseeded every
// reseedPeriod), else, only with rng=insecure, the board's RDRAND
// emulation; otherwise boot fails with errNoEntropy.
func (e *entropy) choose(insecure bool) error {
	switch {
	case !board.RDRANDEmulated():
		return nil
	case e.dev != nil:
		if err := board.UseEntropySource("virtio-rng", e.dev); err != nil {
			return err
		}
		fmt.Printf("tamanet: random numbers from virtio-rng at %s (the CPU has no RDRAND)\n", e.pci.Addr)
		go reseed(reseedPeriod)
		return nil
	case insecure:
		fmt.Fprintln(os.Stderr, "tamanet: WARNING: rng=insecure: no RDRAND and no virtio-rng; TCP sequence numbers and port secrets are predictable")
		return nil
	}
	return errNoEntropy
}

// reseed folds fresh device entropy into the generator forever.
func reseed(period time.Duration) {
	for range time.Tick(period) {
		if err := board.Reseed(); err != nil {
			fmt.Fprintf(os.Stderr, "tamanet: %v\n", err)
		}
	}
}

// entropyStats is the "entropy" member of GET /stats.
type entropyStats struct {
	board.EntropyStats
	// VirtioRNG is the virtio-rng driver's counters, if there is a device.
	VirtioRNG *rng.Stats `json:"virtio_rng,omitempty"`
}

func (e *entropy) stats() entropyStats {
	s := entropyStats{EntropyStats: board.Entropy()}
	if e.dev != nil {
		d := e.dev.Stats()
		s.VirtioRNG = &d
	}
	return s
}
