package pcitest

import "tamanet/pci"

// QEMUPCCommand is the QEMU command line QEMUPC models.
const QEMUPCCommand = "qemu-system-x86_64 -M pc -net none -device e1000 -device virtio-net-pci " +
	"-device pci-bridge,id=br1,chassis_nr=1,addr=5 -device virtio-rng-pci,bus=br1,addr=0"

// QEMUPCInfoPCI is what QEMU 7.2 (Debian 1:7.2+dfsg-7+deb12u18) printed for
// "info pci" on QEMUPCCommand once SeaBIOS had assigned resources (monitor
// echo removed). QEMUPC is built to match it; the expansion ROM BARs
// (BAR6), which SeaBIOS leaves disabled, are not modelled.
const QEMUPCInfoPCI = `  Bus  0, device   0, function 0:
    Host bridge: PCI device 8086:1237
      PCI subsystem 1af4:1100
      id ""
  Bus  0, device   1, function 0:
    ISA bridge: PCI device 8086:7000
      PCI subsystem 1af4:1100
      id ""
  Bus  0, device   1, function 1:
    IDE controller: PCI device 8086:7010
      PCI subsystem 1af4:1100
      BAR4: I/O at 0xd060 [0xd06f].
      id ""
  Bus  0, device   1, function 3:
    Bridge: PCI device 8086:7113
      PCI subsystem 1af4:1100
      IRQ 9, pin A
      id ""
  Bus  0, device   2, function 0:
    VGA controller: PCI device 1234:1111
      PCI subsystem 1af4:1100
      BAR0: 32 bit prefetchable memory at 0xfd000000 [0xfdffffff].
      BAR2: 32 bit memory at 0xfeab0000 [0xfeab0fff].
      BAR6: 32 bit memory at 0xffffffffffffffff [0x0000fffe].
      id ""
  Bus  0, device   3, function 0:
    Ethernet controller: PCI device 8086:100e
      PCI subsystem 1af4:1100
      IRQ 11, pin A
      BAR0: 32 bit memory at 0xfea80000 [0xfea9ffff].
      BAR1: I/O at 0xd000 [0xd03f].
      BAR6: 32 bit memory at 0xffffffffffffffff [0x0003fffe].
      id ""
  Bus  0, device   4, function 0:
    Ethernet controller: PCI device 1af4:1000
      PCI subsystem 1af4:0001
      IRQ 11, pin A
      BAR0: I/O at 0xd040 [0xd05f].
      BAR1: 32 bit memory at 0xfeab1000 [0xfeab1fff].
      BAR4: 64 bit prefetchable memory at 0xfe200000 [0xfe203fff].
      BAR6: 32 bit memory at 0xffffffffffffffff [0x0003fffe].
      id ""
  Bus  0, device   5, function 0:
    PCI bridge: PCI device 1b36:0001
      IRQ 10, pin A
      BUS 0.
      secondary bus 1.
      subordinate bus 1.
      IO range [0xc000, 0xcfff]
      memory range [0xfe800000, 0xfe9fffff]
      prefetchable memory range [0xfe000000, 0xfe1fffff]
      BAR0: 64 bit memory at 0xfeab2000 [0xfeab20ff].
      id "br1"
  Bus  1, device   0, function 0:
    Class 0255: PCI device 1af4:1005
      PCI subsystem 1af4:0004
      IRQ 10, pin A
      BAR0: I/O at 0xc000 [0xc01f].
      BAR1: 32 bit memory at 0xfe800000 [0xfe800fff].
      BAR4: 64 bit prefetchable memory at 0xfe000000 [0xfe003fff].
      id ""
`

// SeaBIOS enables decoding, and SERR# reporting, on what it configures.
const seabiosCommand = pci.COMMAND_IO_SPACE | pci.COMMAND_MEMORY_SPACE | 1<<8

// QEMUPC returns the configuration space of QEMUPCCommand after SeaBIOS:
// the i440FX host bridge, the multi-function PIIX3 (ISA bridge, IDE, ACPI),
// VGA, the 82540EM e1000, a transitional virtio-net with the capability
// list QEMU gives virtio devices, and a PCI-to-PCI bridge (with a 64-bit
// SHPC BAR filling both of its BAR registers) leading to bus 1 with a
// virtio-rng. IDs, classes, subsystems, BARs, bridge windows, bus numbers
// and interrupt lines are those of QEMUPCInfoPCI; revisions and capability
// lists are QEMU's, which "info pci" does not show.
func QEMUPC() *Space { return qemuPC(true) }

// FirmwarePIRQRoutes is what both SeaBIOS and qboot write to the PIIX3's
// PIRQRC[A:D] (0x60-0x63): PIRQA# and PIRQB# to IRQ 10, PIRQC# and PIRQD#
// to IRQ 11. PIRQRoutesWritable are the bits of each software may write.
const (
	FirmwarePIRQRoutes = 0x0b0b0a0a
	PIRQRoutesWritable = 0x8f8f8f8f
)

// QEMUPCQboot returns the same machine as QEMU's qboot firmware leaves it:
// bus numbers and Interrupt Lines set, but no BAR assigned, bridge windows
// closed and no decoding enabled. qboot routes the PIRQs as SeaBIOS does
// but computes each Interrupt Line from PIRQ (pin + slot - 1) with the pin
// counted from 1, not 0: one PIRQ past the one QEMU wires the pin to,
// which for INTA# of slot 4 (the virtio-net) names IRQ 10 where the
// interrupt arrives on 11.
func QEMUPCQboot() *Space { return qemuPC(false) }

func qemuPC(seabios bool) *Space {
	s := New()
	qemuSubsys := func(h Header) Header {
		h.SubsystemVendorID, h.SubsystemID = 0x1af4, 0x1100
		return h
	}
	// fw picks what each firmware leaves: an address, Interrupt Line or
	// Command value.
	fw := func(seabiosValue, qbootValue uint64) uint64 {
		if seabios {
			return seabiosValue
		}
		return qbootValue
	}
	cmd := uint16(fw(seabiosCommand, 0))
	s.Add(pci.Address{Bus: 0, Device: 0, Function: 0}, qemuSubsys(Header{
		VendorID: 0x8086, DeviceID: 0x1237, BaseClass: 0x06, SubClass: 0x00, RevisionID: 0x02,
		Command: pci.COMMAND_MEMORY_SPACE,
	}))
	s.Add(pci.Address{Bus: 0, Device: 1, Function: 0}, qemuSubsys(Header{
		VendorID: 0x8086, DeviceID: 0x7000, BaseClass: 0x06, SubClass: 0x01,
		MultiFunction: true, Command: cmd,
	})).SetRegister(pci.PIRQA_ROUT, FirmwarePIRQRoutes, PIRQRoutesWritable)
	s.Add(pci.Address{Bus: 0, Device: 1, Function: 1}, qemuSubsys(Header{
		VendorID: 0x8086, DeviceID: 0x7010, BaseClass: 0x01, SubClass: 0x01, ProgIF: 0x80,
		Command: cmd,
	})).SetBAR(4, BAR{Kind: pci.BARIO, Addr: fw(0xd060, 0), Size: 0x10})
	s.Add(pci.Address{Bus: 0, Device: 1, Function: 3}, qemuSubsys(Header{
		VendorID: 0x8086, DeviceID: 0x7113, BaseClass: 0x06, SubClass: 0x80, RevisionID: 0x03,
		InterruptLine: uint8(fw(9, 10)), InterruptPin: 1, Command: cmd,
	}))
	s.Add(pci.Address{Bus: 0, Device: 2, Function: 0}, qemuSubsys(Header{
		VendorID: 0x1234, DeviceID: 0x1111, BaseClass: 0x03, SubClass: 0x00, RevisionID: 0x02,
		Command: cmd,
	})).SetBAR(0, BAR{Kind: pci.BARMem32, Prefetchable: true, Addr: fw(0xfd000000, 0), Size: 0x1000000}).
		SetBAR(2, BAR{Kind: pci.BARMem32, Addr: fw(0xfeab0000, 0), Size: 0x1000})
	s.Add(pci.Address{Bus: 0, Device: 3, Function: 0}, qemuSubsys(Header{
		VendorID: 0x8086, DeviceID: 0x100e, BaseClass: 0x02, SubClass: 0x00, RevisionID: 0x03,
		InterruptLine: 11, InterruptPin: 1, Command: cmd,
	})).SetBAR(0, BAR{Kind: pci.BARMem32, Addr: fw(0xfea80000, 0), Size: 0x20000}).
		SetBAR(1, BAR{Kind: pci.BARIO, Addr: fw(0xd000, 0), Size: 0x40})
	virtioCaps(s.Add(pci.Address{Bus: 0, Device: 4, Function: 0}, Header{
		VendorID: 0x1af4, DeviceID: 0x1000, BaseClass: 0x02, SubClass: 0x00,
		SubsystemVendorID: 0x1af4, SubsystemID: 0x0001,
		InterruptLine: uint8(fw(11, 10)), InterruptPin: 1, Command: cmd,
	})).SetBAR(0, BAR{Kind: pci.BARIO, Addr: fw(0xd040, 0), Size: 0x20}).
		SetBAR(1, BAR{Kind: pci.BARMem32, Addr: fw(0xfeab1000, 0), Size: 0x1000}).
		SetBAR(4, BAR{Kind: pci.BARMem64, Prefetchable: true, Addr: fw(0xfe200000, 0), Size: 0x4000})
	br := s.Add(pci.Address{Bus: 0, Device: 5, Function: 0}, Header{
		VendorID: 0x1b36, DeviceID: 0x0001, BaseClass: 0x06, SubClass: 0x04,
		HeaderType: pci.HEADER_TYPE_BRIDGE, InterruptLine: 10, InterruptPin: 1,
		Command: uint16(fw(seabiosCommand|pci.COMMAND_BUS_MASTER, 0)),
	}).SetBAR(0, BAR{Kind: pci.BARMem64, Addr: fw(0xfeab2000, 0), Size: 0x100}).
		SetBuses(0, 1, 1).
		SetBridgeWindows(false).
		// MSI, Slot Identification, SHPC (ID 0x0C).
		SetCapabilityPointer(0x4c).
		SetCapability(0x4c, pci.CAP_ID_MSI, 0x48).
		SetCapability(0x48, 0x04, 0x40).
		SetCapability(0x40, 0x0c, 0x00)
	if seabios {
		// I/O [0xc000, 0xcfff], memory [0xfe800000, 0xfe9fffff],
		// prefetchable [0xfe000000, 0xfe1fffff].
		br.SetRegister(pci.IO_BASE, 0xc0|0xc0<<8, pci.BRIDGE_IO_ADDR_MASK|pci.BRIDGE_IO_ADDR_MASK<<8)
		br.SetRegister(pci.MEMORY_BASE, 0xfe80|0xfe90<<16, pci.BRIDGE_MEMORY_ADDR_MSK|pci.BRIDGE_MEMORY_ADDR_MSK<<16)
		br.SetRegister(pci.PREF_MEMORY_BASE, 0xfe01|0xfe11<<16, pci.BRIDGE_MEMORY_ADDR_MSK|pci.BRIDGE_MEMORY_ADDR_MSK<<16)
	}
	virtioCaps(s.Add(pci.Address{Bus: 1, Device: 0, Function: 0}, Header{
		VendorID: 0x1af4, DeviceID: 0x1005, BaseClass: 0x00, SubClass: 0xff,
		SubsystemVendorID: 0x1af4, SubsystemID: 0x0004,
		InterruptLine: 10, InterruptPin: 1, Command: cmd,
	})).SetBAR(0, BAR{Kind: pci.BARIO, Addr: fw(0xc000, 0), Size: 0x20}).
		SetBAR(1, BAR{Kind: pci.BARMem32, Addr: fw(0xfe800000, 0), Size: 0x1000}).
		SetBAR(4, BAR{Kind: pci.BARMem64, Prefetchable: true, Addr: fw(0xfe000000, 0), Size: 0x4000})
	return s
}

// virtioCaps gives f the capability list of a QEMU virtio-pci function:
// MSI-X, then five vendor-specific virtio structures.
func virtioCaps(f *Function) *Function {
	return f.SetCapabilityPointer(0x98).
		SetCapability(0x98, pci.CAP_ID_MSIX, 0x84).
		SetCapability(0x84, pci.CAP_ID_VENDOR, 0x70).
		SetCapability(0x70, pci.CAP_ID_VENDOR, 0x60).
		SetCapability(0x60, pci.CAP_ID_VENDOR, 0x50).
		SetCapability(0x50, pci.CAP_ID_VENDOR, 0x40).
		SetCapability(0x40, pci.CAP_ID_VENDOR, 0x00)
}
