//go:build tamago

package unikernel

import (
	"errors"
	"fmt"

	"tamanet/board"
	"tamanet/kernel"
	"tamanet/pci"
	"tamanet/pktgen/nicstats"
	"tamanet/unikernel/entropy"
	"tamanet/unikernel/virtioboard"
	"tamanet/virtio"
	"tamanet/virtio/mmio"
	"tamanet/virtio/virtionet"
	"tamanet/virtio/virtiopci"
)

// virtioNet brings up virtio-net devices for the unikernel, on PCI (the
// modern transport with MSI-X, or the legacy one on INTx) and on
// virtio-mmio (microvm, one interrupt line).
type virtioNet struct {
	cfg  nicConfig
	bind bindFunc
}

// config is the driver's configuration from the boot options. offload=off
// turns off the device's offloads both ways, so the stack sees MTU-sized
// frames with unchecked checksums, as on an e1000 without them.
func (v virtioNet) config(msix bool) virtionet.Config {
	off := v.cfg.noOffload
	return virtionet.Config{
		NAPI: v.cfg.napi, MTU: v.cfg.mtu, MSIX: msix,
		NoCsum: off, NoGuestCsum: off, NoTSO: off, NoGuestTSO: off,
	}
}

// bindPCI brings up a virtio-net PCI function. On the modern transport
// its MSI-X table is enabled with every entry masked before the driver
// assigns the vectors; hookIRQ fills and unmasks them once the kernel
// routes interrupts, and a message the device sent meanwhile is held
// pending until then.
func (v virtioNet) bindPCI(t virtio.Transport, pd *pci.Device) error {
	var msix *pci.MSIX
	if !t.Legacy() {
		x, err := pd.MSIX(func(b pci.BAR) (pci.Registers, error) { return board.MapMMIO(b.Addr, b.Size) })
		switch {
		case err == nil:
			x.Enable()
			msix = x
		case !errors.Is(err, pci.ErrNoMSI):
			return fmt.Errorf("virtio-net at %s: %w", pd.Addr, err)
		}
	}
	d, err := v.start(t, msix != nil)
	if err != nil {
		return fmt.Errorf("virtio-net at %s: %w", pd.Addr, err)
	}
	n := v.nic(d, t, fmt.Sprintf("at %s", pd.Addr))
	if msix != nil {
		n.features = t.Name() + " msix " + d.Features()
		n.hookIRQ = func() (string, error) { return hookMSIX(msix, d) }
	} else {
		n.hookIRQ = func() (string, error) { return hookINTx("virtio-net", pd, d.HandleInterrupt) }
	}
	return v.bind(n)
}

// bindMMIO brings up a virtio-net on a virtio-mmio transport. Its
// interrupt follows the device's interrupt status (QEMU's virtio-mmio
// drives the line while a cause is unacknowledged): level-triggered,
// active high.
func (v virtioNet) bindMMIO(t virtio.Transport, md mmio.Device) error {
	d, err := v.start(t, false)
	if err != nil {
		return fmt.Errorf("virtio-net on %v: %w", md, err)
	}
	n := v.nic(d, t, "on "+md.String())
	n.hookIRQ = func() (string, error) {
		if err := kernel.RequestIRQ("virtio-net", md.IRQ, kernel.Level, kernel.ActiveHigh, d.HandleInterrupt); err != nil {
			return "", err
		}
		return fmt.Sprintf("virtio-mmio GSI %d %v/%v", md.IRQ, kernel.Level, kernel.ActiveHigh), nil
	}
	return v.bind(n)
}

// start brings the device up, marking the boot phases: reset, and receive
// enabled at DRIVER_OK (virtio-net holds nothing back after it).
func (v virtioNet) start(t virtio.Transport, msix bool) (*virtionet.Device, error) {
	v.cfg.boot.mark(phaseReset)
	d, err := virtionet.New(t, board.DMA{}, v.config(msix))
	if err != nil {
		return nil, err
	}
	v.cfg.boot.mark(phaseRxEnabled)
	return d, nil
}

// nic describes d for the unikernel.
func (v virtioNet) nic(d *virtionet.Device, t virtio.Transport, where string) *nic {
	return &nic{
		kind:           "virtio-net",
		where:          fmt.Sprintf("%s (%s), features %s", where, t.Name(), d.Features()),
		features:       t.Name() + " " + d.Features(),
		dev:            d,
		onFirstRx:      v.cfg.boot.firstFrame,
		pktgenCounters: nicstats.VirtioNet(d),
		stats: func(s *Stats) {
			vs := d.Stats()
			s.VirtioNet = &vs
			s.NICTotals = nicTotals{
				LinkUp: vs.LinkUp, LinkChanges: vs.Device.LinkChanges, LinkInterrupts: vs.Device.ConfigInterrupts,
				RxPackets: vs.RX.Packets, RxBytes: vs.RX.Bytes,
				TxPackets: vs.TX.Packets, TxBytes: vs.TX.Bytes, TxSegments: vs.TX.Segments,
				TxDoorbells: vs.TxQueue.Notifies,
				Interrupts:  vs.Device.QueueInterrupts + vs.Device.ConfigInterrupts,
				NAPI:        vs.NAPI,
			}
		},
	}
}

// hookMSIX routes the driver's three MSI-X vectors (configuration,
// receive, transmit) to its handlers and unmasks them.
func hookMSIX(x *pci.MSIX, d *virtionet.Device) (string, error) {
	vectors := []struct {
		entry int
		name  string
		fn    func()
	}{
		{virtionet.VectorConfig, "virtio-net-config", d.HandleConfigInterrupt},
		{virtionet.VectorRx, "virtio-net-rx", d.HandleQueueInterrupt},
		{virtionet.VectorTx, "virtio-net-tx", d.HandleQueueInterrupt},
	}
	desc := "msix"
	for _, v := range vectors {
		m, err := kernel.RequestMSI(v.name, v.fn)
		if err != nil {
			return "", err
		}
		if err := x.Set(v.entry, m.Addr, m.Data); err != nil {
			return "", err
		}
		if err := x.Unmask(v.entry); err != nil {
			return "", err
		}
		desc += fmt.Sprintf(" %s %#x", v.name[len("virtio-net-"):], m.Vector())
	}
	return desc, nil
}

// registerVirtio adds virtio over PCI to reg, with the binders for the
// devices the unikernel uses (virtio-net, and the entropy policy's
// virtio-rng), and returns the binders for virtio-mmio, which
// probeVirtioMMIO uses once PCI is done.
func registerVirtio(reg *pci.Registry, cfg nicConfig, bind bindFunc, ent *entropy.Policy) (map[uint16]mmio.Binder, error) {
	v := virtioNet{cfg: cfg, bind: bind}
	err := virtiopci.Register(reg, virtioboard.PCI(map[uint16]virtiopci.Binder{
		virtio.DeviceNet:     v.bindPCI,
		virtio.DeviceEntropy: ent.BindPCI,
	}))
	return map[uint16]mmio.Binder{
		virtio.DeviceNet:     v.bindMMIO,
		virtio.DeviceEntropy: ent.BindMMIO,
	}, err
}
