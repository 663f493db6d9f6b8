// Package pci finds and describes the devices on a conventional PCI
// hierarchy: configuration space access, enumeration of every bus reachable
// from bus 0, Base Address Register decoding and sizing, capability lists,
// INTx routing and matching devices to drivers.
//
// INTx routes come from the chipset's PIRQ router where this package knows
// it (QEMU's PIIX3 on -M pc, ICH9 on -M q35), as Linux takes them from ACPI
// _PRT or its PIRQ router code on x86, not from the Interrupt Line register
// firmware wrote, which can be wrong (QEMU's qboot: see Device.INTx).
//
// Register offsets, bits and header layouts follow the PCI Local Bus
// Specification, Revision 3.0 (chapter 6, "Configuration Space", and
// section 3.2.2.3.2 for configuration mechanism #1), and the PCI-to-PCI Bridge
// Architecture Specification, Revision 1.2 (chapter 3, the type 1 header).
// Only the first 256 bytes of configuration space are used; PCI Express
// extended configuration space (ECAM) is out of scope.
//
// Hardware access goes through two small interfaces, ConfigSpace and PortIO,
// so the package runs unchanged on the host against the fake configuration
// space in tamanet/pci/pcitest and in the unikernel against the real ports.
package pci
