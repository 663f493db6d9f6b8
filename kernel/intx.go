//go:build tamago

package kernel

import (
	"fmt"

	"tamanet/pci"
)

// INTxRoute is where a PCI function's INTx# pin arrives at the I/O APIC.
type INTxRoute struct {
	pci.INTx
	GSI      uint32
	Trigger  Trigger
	Polarity Polarity
}

func (r INTxRoute) String() string {
	return fmt.Sprintf("%v -> GSI %d %v/%v", r.INTx, r.GSI, r.Trigger, r.Polarity)
}

// RouteINTx returns where d's INTx# arrives (pci.Device.INTx): an ISA IRQ
// follows the MADT's overrides as ISARoute says; a PIRQ the chipset wires
// straight to an I/O APIC input (q35: GSI 16-23) is level-triggered and,
// as QEMU's _PRT describes those links, active high.
func RouteINTx(d *pci.Device) (INTxRoute, error) {
	x, err := d.INTx()
	if err != nil {
		return INTxRoute{}, err
	}
	r := INTxRoute{INTx: x, GSI: x.Line, Trigger: Level, Polarity: ActiveHigh}
	if x.ISA {
		r.GSI, r.Trigger, r.Polarity = ISARoute(uint8(x.Line))
	}
	return r, nil
}
