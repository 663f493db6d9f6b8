//go:build tamago

package entropy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"tamanet/board"
	"tamanet/pci"
	"tamanet/unikernel/virtioboard"
	"tamanet/virtio"
	"tamanet/virtio/mmio"
	"tamanet/virtio/rng"
	"tamanet/virtio/virtiopci"
)

// reseedPeriod is how often the random generator takes fresh bytes from a
// virtio-rng device.
const reseedPeriod = time.Minute

// Sources as Stats names them when no Generator is in use.
const (
	SourceRDRAND         = "rdrand"
	SourceRDRANDEmulated = "rdrand-emulated" // not cryptographic
)

// ErrNoEntropy is a machine with nothing to draw unpredictable numbers
// from. gVisor takes TCP initial sequence numbers and port secrets from
// crypto/rand, so predictable ones would let anyone off the path inject
// into connections.
var ErrNoEntropy = errors.New("no entropy source: the CPU lacks RDRAND and there is no virtio-rng device; " +
	"start QEMU with -cpu ...,+rdrand or -device virtio-rng-pci (microvm: virtio-rng-device), " +
	"or boot with rng=insecure to accept predictable TCP sequence numbers")

// Use keys a Generator from src and makes it the source of every random
// number from then on (the board's runtime hook: crypto/rand; the runtime
// drew its own seeds at boot). Call it before anything that needs
// unpredictable numbers, such as a network stack's sequence numbers.
func Use(name string, src io.Reader) (*Generator, error) {
	g, err := NewGenerator(name, src)
	if err != nil {
		return nil, err
	}
	board.SetRandomData(g.Fill)
	return g, nil
}

// Policy decides where random numbers come from: RDRAND, a virtio-rng
// device, or, only when asked, the board's RDRAND emulation.
type Policy struct {
	dev   *rng.RNG
	where string     // the device's PCI address or virtio-mmio window
	gen   *Generator // nil unless the device keys one
}

// Register is the entropy source's discovery for a program with no other
// virtio driver: it adds virtio-pci with the entropy binder alone to reg,
// and takes a virtio-rng on virtio-mmio (microvm) now. A program with
// more virtio drivers puts BindPCI and BindMMIO in its own binder maps.
func (p *Policy) Register(reg *pci.Registry) error {
	if err := virtiopci.Register(reg, virtioboard.PCI(map[uint16]virtiopci.Binder{virtio.DeviceEntropy: p.BindPCI})); err != nil {
		return err
	}
	// A bad virtio_mmio.device= entry costs that device, not the boot.
	if _, _, err := virtioboard.ProbeMMIO(map[uint16]mmio.Binder{virtio.DeviceEntropy: p.BindMMIO}); err != nil {
		fmt.Fprintf(os.Stderr, "tamanet: %v\n", err)
	}
	return nil
}

// BindPCI brings up a virtio-rng PCI function and keeps it.
func (p *Policy) BindPCI(t virtio.Transport, pd *pci.Device) error {
	return p.bind(t, pd.Addr.String())
}

// BindMMIO brings up a virtio-rng on virtio-mmio and keeps it.
func (p *Policy) BindMMIO(t virtio.Transport, d mmio.Device) error {
	return p.bind(t, d.String())
}

func (p *Policy) bind(t virtio.Transport, where string) error {
	if p.dev != nil {
		return fmt.Errorf("tamanet uses one virtio-rng and has %s", p.where)
	}
	r, err := rng.New(t, board.DMA{}, rng.Config{})
	if err != nil {
		return err
	}
	p.dev, p.where = r, fmt.Sprintf("%s (%s)", where, t.Name())
	return nil
}

// Choose decides, before anything draws random numbers for the network:
// RDRAND when the CPU has it, else the virtio-rng device (which then keys
// a Generator, reseeded every reseedPeriod), else, only with insecure
// (rng=insecure), the board's RDRAND emulation; otherwise it returns
// ErrNoEntropy.
func (p *Policy) Choose(insecure bool) error {
	switch {
	case !board.RDRANDEmulated():
		return nil
	case p.dev != nil:
		g, err := Use("virtio-rng", p.dev)
		if err != nil {
			return err
		}
		p.gen = g
		fmt.Printf("tamanet: random numbers from virtio-rng at %s (the CPU has no RDRAND)\n", p.where)
		go reseed(g, reseedPeriod)
		return nil
	case insecure:
		fmt.Fprintln(os.Stderr, "tamanet: WARNING: rng=insecure: no RDRAND and no virtio-rng; TCP sequence numbers and port secrets are predictable")
		return nil
	}
	return ErrNoEntropy
}

// reseed folds fresh device entropy into g forever.
func reseed(g *Generator, period time.Duration) {
	for range time.Tick(period) {
		if err := g.Reseed(); err != nil {
			fmt.Fprintf(os.Stderr, "tamanet: %v\n", err)
		}
	}
}

// Stats is the "entropy" member of GET /stats: where random numbers come
// from, the generator's counters (zero without one) and the device's.
type Stats struct {
	// Source is SourceRDRAND, SourceRDRANDEmulated, or the Generator's
	// source ("virtio-rng").
	Source string `json:"source" metric:"info=source"`
	GeneratorStats
	// VirtioRNG is the virtio-rng driver's counters, if there is a device.
	VirtioRNG *rng.Stats `json:"virtio_rng,omitempty"`
}

// Stats returns the policy's snapshot.
func (p *Policy) Stats() Stats {
	var s Stats
	switch {
	case p.gen != nil:
		s.Source, s.GeneratorStats = p.gen.Name(), p.gen.Stats()
	case board.RDRANDEmulated():
		s.Source = SourceRDRANDEmulated
	default:
		s.Source = SourceRDRAND
	}
	if p.dev != nil {
		d := p.dev.Stats()
		s.VirtioRNG = &d
	}
	return s
}
