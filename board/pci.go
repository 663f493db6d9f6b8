//go:build tamago

package board

import (
	"errors"

	"tamanet/pci"
)

// PC address ranges PCI devices must stay out of: the chipset decodes
// [0xFEC00000, 4 GiB) itself (I/O APIC, HPET, local APIC, firmware flash),
// legacy ISA devices and ACPI the I/O ports below 0x1000.
const (
	chipsetBase = 0xFEC00000
	pciIOStart  = 0x1000
	pciIOEnd    = 0x10000
)

// PCIWindows returns the ranges pci.Bus.Assign may give to BARs the
// firmware left unassigned (QEMU's qboot assigns none): memory from the end
// of the highest memory-map entry below the chipset's range up to that
// range (above RAM, and on q35 above the MMCONFIG area, which the firmware
// reserves), and the I/O ports above the legacy ones. Linux takes memory
// from the same gap in the E820 map when ACPI offers no _CRS
// (e820__setup_pci_gap). The memory window also stays inside the range the
// boot page tables map uncached for device registers (see MapMMIO).
func PCIWindows() pci.Windows {
	start := uint64(mmioStart)
	for _, r := range MemoryMap() {
		if r.Start < chipsetBase && r.End > start {
			start = r.End
		}
	}
	// 1 MiB aligned, as bridge windows are.
	start = (start + 1<<20 - 1) &^ (1<<20 - 1)
	return pci.Windows{
		Mem: pci.Range{Start: min(start, chipsetBase), End: chipsetBase},
		IO:  pci.Range{Start: pciIOStart, End: pciIOEnd},
	}
}

// pciISAIRQs are the ISA interrupts a PIRQ the firmware left unrouted may
// take: those QEMU's ACPI tables offer its PCI interrupt links (_PRS of
// LNKA-LNKD: 5, 10, 11), which its MADT makes level-triggered, the two
// firmware use first.
var pciISAIRQs = []uint8{10, 11, 5}

// EnumeratePCI enumerates the PCI hierarchy through configuration mechanism
// #1, assigns what the firmware left unassigned (pci.Bus.Assign with
// PCIWindows) and makes the INTx routing agree with the chipset
// (pci.Bus.RouteINTx), so that drivers probing it find addresses and
// interrupt lines whichever firmware booted the machine. drivers is the
// registry Probe will match (nil: pci.Default). The bus is complete even
// with an error, which joins the enumeration's, the assignment's and the
// routing's problems.
func EnumeratePCI(drivers *pci.Registry) (*pci.Bus, error) {
	bus, err := pci.Enumerate(pci.NewMechanism1(PortIO{}), drivers)
	return bus, errors.Join(err, bus.Assign(PCIWindows()), bus.RouteINTx(pciISAIRQs))
}
