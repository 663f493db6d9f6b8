//go:build tamago

package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"tamanet/board"
	"tamanet/kernel"
	"tamanet/pci"
	"tamanet/unikernel/entropy"
	"tamanet/unikernel/virtioboard"
	"tamanet/virtio"
	"tamanet/virtio/mmio"
	"tamanet/virtio/rng"
	"tamanet/virtio/virtiopci"
)

// entropyDevice is the virtio-rng discovery found: its transport, where
// it is, and its interrupt line.
type entropyDevice struct {
	t     virtio.Transport
	where string
	gsi   uint32
	trig  kernel.Trigger
	pol   kernel.Polarity
}

// findEntropy finds the virtio-rng device on virtio-mmio (microvm) or,
// failing that, on PCI, printing what discovery saw.
func findEntropy() (*entropyDevice, error) {
	fmt.Printf("kernelcheck: command line %q\n", board.CommandLine())
	entries, err := virtioboard.MMIOEntries()
	fmt.Printf("kernelcheck: virtio-mmio entries %+v (%v)\n", entries, err)
	var dev *entropyDevice
	found, st, err := virtioboard.ProbeMMIO(map[uint16]mmio.Binder{
		virtio.DeviceEntropy: func(t virtio.Transport, d mmio.Device) error {
			trig, pol := kernel.Level, kernel.ActiveHigh
			if d.Edge {
				trig = kernel.Edge
			}
			if d.ActiveLow {
				pol = kernel.ActiveLow
			}
			dev = &entropyDevice{t: t, where: d.String(), gsi: d.IRQ, trig: trig, pol: pol}
			return nil
		},
	})
	fmt.Printf("kernelcheck: virtio-mmio %v %+v\n", found, st)
	if err != nil || dev != nil {
		return dev, err
	}
	var reg pci.Registry
	err = virtiopci.Register(&reg, virtioboard.PCI(map[uint16]virtiopci.Binder{
		virtio.DeviceEntropy: func(t virtio.Transport, pd *pci.Device) error {
			line, ok := pd.GSI()
			if !ok {
				return fmt.Errorf("%s has no INTx line", pd.Addr)
			}
			dev = &entropyDevice{t: t, where: fmt.Sprintf("%s (command %#x, INT%s line %d)", pd.Addr, pd.Command(), pd.PinName(), line)}
			dev.gsi, dev.trig, dev.pol = kernel.ISARoute(uint8(line))
			return nil
		},
	}))
	if err != nil {
		return nil, err
	}
	bus, err := board.EnumeratePCI(&reg)
	if err != nil {
		return nil, err
	}
	if err := bus.Probe(); err != nil {
		return nil, err
	}
	if dev == nil {
		return nil, fmt.Errorf("no virtio-rng device bound")
	}
	return dev, nil
}

// checkEntropy binds the virtio-rng device, on PCI or on virtio-mmio,
// keys the entropy package's generator from it, and checks that
// crypto/rand then draws from the generator and a reseed from the device.
func checkEntropy() error {
	found, err := findEntropy()
	if err != nil {
		return err
	}
	dev, err := rng.New(found.t, board.DMA{}, rng.Config{})
	if err != nil {
		return err
	}
	fmt.Printf("kernelcheck: virtio-rng at %s over %s\n", found.where, found.t.Name())
	g, err := entropy.Use("virtio-rng", dev)
	if err != nil {
		return err
	}
	a, b := make([]byte, 32), make([]byte, 32)
	rand.Read(a)
	rand.Read(b)
	if err := g.Reseed(); err != nil {
		return err
	}
	e, d := g.Stats(), dev.Stats()
	fmt.Printf("kernelcheck: entropy %x %x; generator %+v; device %+v\n", a, b, e, d)
	switch {
	case bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 32)):
		return fmt.Errorf("crypto/rand repeats")
	case e.GeneratedBytes < 64 || e.SourceBytes != 64 || e.Reseeds != 1:
		return fmt.Errorf("generator %+v: want 64 bytes from virtio-rng, 64 handed out", e)
	case d.Bytes != 64:
		return fmt.Errorf("device gave %d bytes, want 64", d.Bytes)
	}
	return nil
}

// irqWait bounds the wait for the device's interrupt.
const irqWait = 10 * time.Second

// checkVirtioIRQ drives the virtio-rng's queue directly with interrupts
// on: one request must bring one used buffer notification on the line
// discovery named (INTx on PCI, the DSDT's GSI on virtio-mmio), and
// AckInterrupt must acknowledge it.
func checkVirtioIRQ() error {
	found, err := findEntropy()
	if err != nil {
		return err
	}
	t := found.t
	dev, err := virtio.Init(t, 0)
	if err != nil {
		return err
	}
	q, err := virtio.NewQueue(t, 0, 0, board.DMA{}, virtio.NoVector, false)
	if err != nil {
		return err
	}
	if err := dev.Ready(); err != nil {
		return err
	}
	var irqs atomic.Uint64
	handler := func() bool {
		if t.AckInterrupt()&virtio.ISRQueue == 0 {
			return false
		}
		irqs.Add(1)
		return true
	}
	if err := kernel.RequestIRQ("virtio-rng", found.gsi, found.trig, found.pol, handler); err != nil {
		return err
	}
	_, bus, err := board.DMA{}.Alloc(16, 16)
	if err != nil {
		return err
	}
	if _, err := q.Add(virtio.Buffer{Addr: bus, Len: 16, Write: true}); err != nil {
		return err
	}
	q.Kick()
	for deadline := time.Now().Add(irqWait); irqs.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	u, ok := q.Get()
	fmt.Printf("kernelcheck: virtioirq %s over %s on GSI %d (%v/%v): %d interrupts, used %+v %v; kernel %+v\n",
		found.where, t.Name(), found.gsi, found.trig, found.pol, irqs.Load(), u, ok, kernel.Stats())
	switch {
	case irqs.Load() == 0:
		return fmt.Errorf("no interrupt on GSI %d within %v", found.gsi, irqWait)
	case !ok || u.Err != nil || u.Len != 16:
		return fmt.Errorf("used %+v, %v: want the 16-byte request", u, ok)
	}
	return nil
}
