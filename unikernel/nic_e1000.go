//go:build tamago

package unikernel

import (
	"fmt"

	"tamanet/board"
	"tamanet/e1000"
	"tamanet/kernel"
	"tamanet/pci"
	"tamanet/pktgen/nicstats"
)

// registerE1000 adds the e1000 driver to reg; a device it brings up is
// offered to bind.
func registerE1000(reg *pci.Registry, cfg nicConfig, bind bindFunc) error {
	ecfg := e1000.Config{NAPI: cfg.napi, MTU: cfg.mtu, Event: cfg.boot.e1000Event}
	if cfg.noMitigation {
		ecfg.Mitigation = &e1000.Mitigation{}
	}
	var regs board.MMIO32
	return e1000.Register(reg, e1000.Platform{
		Map: func(bar pci.BAR) (e1000.Registers, error) {
			m, err := board.MapMMIO(bar.Addr, bar.Size)
			regs = m
			return m, err
		},
		DMA:    board.DMA{},
		Config: ecfg,
		Bound: func(d *e1000.Device, pd *pci.Device) error {
			n := &nic{
				kind:           "e1000",
				where:          fmt.Sprintf("at %s, registers %#x", pd.Addr, regs.Base()),
				dev:            d,
				pktgenCounters: nicstats.E1000(d),
				hookIRQ: func() (string, error) {
					return hookINTx("e1000", pd, d.HandleInterrupt)
				},
				stats: func(s *Stats) {
					d.UpdateStats()
					es := d.Stats()
					s.E1000 = &es
					s.NICTotals = nicTotals{
						LinkUp: es.LinkUp, LinkChanges: es.Device.LinkChanges, LinkInterrupts: es.Device.LinkInterrupts,
						RxPackets: es.RX.Packets, RxBytes: es.RX.Bytes,
						TxPackets: es.TX.Packets, TxBytes: es.TX.Bytes, TxSegments: es.TX.Segments,
						TxDoorbells: es.TX.TailWrites,
						Interrupts:  es.Device.Interrupts,
						NAPI:        es.NAPI,
					}
				},
			}
			return bind(n)
		},
	})
}

// hookINTx routes a PCI function's INTx to fn and describes the route.
// Every NAPI mode needs it: busy polling leaves receive and transmit causes
// masked after the first interrupt, but link changes still arrive as
// interrupts.
func hookINTx(name string, pd *pci.Device, fn func() bool) (string, error) {
	r, err := kernel.RouteINTx(pd)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if err := kernel.RequestIRQ(name, r.GSI, r.Trigger, r.Polarity, fn); err != nil {
		return "", err
	}
	return r.String(), nil
}
