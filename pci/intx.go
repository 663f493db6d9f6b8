package pci

import (
	"errors"
	"fmt"
)

// PCI interrupt routers of the chipsets QEMU emulates: each has PIRQ route
// control registers, one byte per PIRQ# input, saying which ISA interrupt
// (0-15) that input drives, with bit 7 set when it drives none. The PIIX3
// (82371SB datasheet, PIRQRC[A:D]) has four, the ICH9 LPC bridge (ICH9
// datasheet, PIRQ[A-D]_ROUT and PIRQ[E-H]_ROUT) eight.
const (
	PIRQA_ROUT          = 0x60 // PIRQA-D: 0x60-0x63
	PIRQE_ROUT          = 0x68 // PIRQE-H: 0x68-0x6B (ICH9 only)
	PIRQ_ROUT_DISABLE   = 0x80 // IRQROUTEN# (PIIX3), IRQEN# (ICH9)
	PIRQ_ROUT_IRQ_MASK  = 0x0F
	BRIDGE_CONTROL      = 0x3E // type 1 header, 16 bits
	bridgeDiscardStatus = 1 << 10
)

// Chipset functions holding a PIRQ router.
var (
	idPIIX3   = ID{Vendor: 0x8086, Device: 0x7000} // 82371SB PCI-to-ISA bridge (QEMU -M pc)
	idICH9LPC = ID{Vendor: 0x8086, Device: 0x2918} // ICH9 LPC interface bridge (QEMU -M q35)
)

// ich9APICBase is the I/O APIC input ICH9 wires PIRQA# to, whatever its
// route control says; PIRQB#-PIRQH# follow (ICH9 datasheet, 5.9: in APIC
// mode PIRQ[A:H] are inputs 16-23).
const ich9APICBase = 16

// INTx errors.
var (
	// ErrNoINTx is a function with no usable interrupt pin, or whose
	// route nothing says: no router and Interrupt Line left 0xFF.
	ErrNoINTx = errors.New("pci: no INTx route")
	// ErrPIRQDisabled is a pin whose PIRQ the router sends nowhere and
	// that no I/O APIC input receives either (Bus.RouteINTx programs it).
	ErrPIRQDisabled = errors.New("pci: PIRQ not routed")
)

// INTx is where a function's INTx# pin arrives.
type INTx struct {
	// Pin is the function's Interrupt Pin, 1-4 for INTA#-INTD#.
	Pin uint8
	// Router names the chipset that routed the pin ("PIIX3", "ICH9"),
	// "" when none was found and Line is the firmware's Interrupt Line.
	Router string
	// PIRQ is the router input the pin reaches (0-7, PIRQA#-PIRQH#),
	// after the swizzle of every bridge above the function.
	PIRQ uint8
	// ISA reports that Line is an ISA interrupt, which the platform maps
	// to an interrupt controller input (on ACPI systems, the MADT's
	// interrupt source overrides). Otherwise Line is an I/O APIC input
	// (GSI) the chipset wires the PIRQ to, a PCI level-triggered line.
	ISA  bool
	Line uint32
}

func (x INTx) String() string {
	pin := "INT" + pinName(x.Pin)
	switch {
	case x.Router == "":
		return fmt.Sprintf("%s Interrupt Line %d", pin, x.Line)
	case x.ISA:
		return fmt.Sprintf("%s %s PIRQ%c -> IRQ %d", pin, x.Router, 'A'+x.PIRQ, x.Line)
	}
	return fmt.Sprintf("%s %s PIRQ%c -> GSI %d", pin, x.Router, 'A'+x.PIRQ, x.Line)
}

// INTx returns where the function's INTx# pin arrives. On a chipset whose
// PIRQ router this package knows, that is what the router does with the
// pin, read from its registers now; firmware's Interrupt Line may say
// otherwise (QEMU's qboot writes lines one PIRQ off from where QEMU's
// PIIX3 delivers any slot but 3), which Bus.RouteINTx corrects. Elsewhere
// it is the Interrupt Line.
func (d *Device) INTx() (INTx, error) {
	if d.InterruptPin == 0 || d.InterruptPin > maxInterruptPin {
		return INTx{}, fmt.Errorf("%s: interrupt pin %d: %w", d.Addr, d.InterruptPin, ErrNoINTx)
	}
	if d.bus != nil && d.bus.router != nil {
		if x, ok := d.bus.router.route(d); ok {
			if x.ISA && x.Line > PIRQ_ROUT_IRQ_MASK {
				return x, fmt.Errorf("%s: %s PIRQ%c: %w", d.Addr, x.Router, 'A'+x.PIRQ, ErrPIRQDisabled)
			}
			return x, nil
		}
	}
	if d.InterruptLine == interruptLineUnknown {
		return INTx{}, fmt.Errorf("%s: Interrupt Line unknown (0xff): %w", d.Addr, ErrNoINTx)
	}
	return INTx{Pin: d.InterruptPin, ISA: true, Line: uint32(d.InterruptLine)}, nil
}

// pirqRouter is the chipset function that sends PCI interrupt pins to
// interrupt controller inputs.
type pirqRouter struct {
	name  string
	dev   *Device // holds the route control registers
	pirqs uint8   // PIRQ inputs: 4 or 8
	// link maps a bus 0 device number and pin (0-3 for INTA#-INTD#) to
	// the PIRQ input it is wired to.
	link func(slot, pin uint8) uint8
	// apicBase, when not 0, is the I/O APIC input of PIRQA#: the chipset
	// also wires each PIRQ straight to apicBase+PIRQ.
	apicBase uint32
	// ownPinA: INTA# of the router's own device is not a PIRQ (the
	// PIIX4 power management function's SCI, which QEMU's _PRT sends to
	// its fixed LNKS).
	ownPinA bool
}

// findRouter returns the PIRQ router among devs, nil if none is known.
func findRouter(devs []*Device) *pirqRouter {
	for _, d := range devs {
		if d.Addr.Bus != 0 {
			continue
		}
		switch (ID{Vendor: d.VendorID, Device: d.DeviceID}) {
		case idPIIX3:
			return &pirqRouter{name: "PIIX3", dev: d, pirqs: 4, link: piixLink, ownPinA: true}
		case idICH9LPC:
			return &pirqRouter{name: "ICH9", dev: d, pirqs: 8, link: ich9Link, apicBase: ich9APICBase}
		}
	}
	return nil
}

// piixLink is QEMU's i440FX/PIIX3 board wiring (pc_pci_slot_get_pirq in
// hw/i386/pc_piix.c; its ACPI _PRT says the same): slot 1, the PIIX3,
// starts at PIRQA#, and each slot rotates by one.
func piixLink(slot, pin uint8) uint8 { return (pin + slot - 1) & 3 }

// ich9Link is QEMU's q35 wiring, the reset value of ICH9's D25IR-D31IR
// interrupt route registers, which neither SeaBIOS nor qboot change
// (hw/isa/lpc_ich9.c): slots 0-24 rotate over PIRQE#-PIRQH#, slot 30 (the
// DMI-to-PCI bridge) takes them in order, and the chipset's own slots
// 25-29 and 31 send INTA#-INTD# to PIRQA#-PIRQD#.
func ich9Link(slot, pin uint8) uint8 {
	switch {
	case slot <= 24:
		return 4 + (slot+pin)&3
	case slot == 30:
		return 4 + pin
	}
	return pin
}

// routeReg returns the offset of PIRQ's route control register.
func routeReg(pirq uint8) uint8 {
	if pirq < 4 {
		return PIRQA_ROUT + pirq
	}
	return PIRQE_ROUT + pirq - 4
}

// pirq returns the PIRQ input d's pin reaches, swizzling through every
// bridge above it (PCI-to-PCI Bridge Architecture Specification 1.2,
// 9.1: a device's pin shifts by its device number at each bridge); ok is
// false when the pin is not a PIRQ.
func (r *pirqRouter) pirq(d *Device) (pirq uint8, ok bool) {
	pin := d.InterruptPin - 1
	for ; d.Parent != nil; d = d.Parent {
		pin = (pin + d.Addr.Device) & 3
	}
	if r.ownPinA && pin == 0 && d.Addr.Device == r.dev.Addr.Device {
		return 0, false
	}
	return r.link(d.Addr.Device, pin), true
}

// isaIRQ returns the ISA interrupt PIRQ drives: its route control
// register, PIRQ_ROUT_DISABLE set when it drives none.
func (r *pirqRouter) isaIRQ(pirq uint8) uint8 {
	v := r.dev.Read8(routeReg(pirq))
	if v&PIRQ_ROUT_DISABLE != 0 {
		return PIRQ_ROUT_DISABLE
	}
	return v & PIRQ_ROUT_IRQ_MASK
}

// route returns where d's pin arrives; ok is false when the router does
// not route it.
func (r *pirqRouter) route(d *Device) (x INTx, ok bool) {
	pirq, ok := r.pirq(d)
	if !ok {
		return INTx{}, false
	}
	x = INTx{Pin: d.InterruptPin, Router: r.name, PIRQ: pirq}
	if r.apicBase != 0 {
		x.Line = r.apicBase + uint32(pirq)
	} else {
		x.ISA, x.Line = true, uint32(r.isaIRQ(pirq))
	}
	return x, true
}

// RouteINTx makes the chipset's PIRQ router and every function's
// Interrupt Line agree, as Linux's PIRQ router code does for firmware it
// does not trust: each PIRQ a present function uses that the firmware left
// unrouted gets the ISA interrupt from irqs the fewest PIRQs already use
// (the first on a tie), and each function's Interrupt Line becomes the ISA
// interrupt of its PIRQ. Functions the router does not route keep theirs.
// Without a known router it does nothing. Stats counts both repairs.
func (b *Bus) RouteINTx(irqs []uint8) error {
	r := b.router
	if r == nil {
		return nil
	}
	var errs []error
	for _, d := range b.Devices {
		if d.InterruptPin == 0 || d.InterruptPin > maxInterruptPin {
			continue
		}
		pirq, ok := r.pirq(d)
		if !ok {
			continue
		}
		irq := r.isaIRQ(pirq)
		if irq == PIRQ_ROUT_DISABLE {
			var err error
			if irq, err = r.program(pirq, irqs); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.Addr, err))
				continue
			}
			b.Stats.PIRQsRouted++
		}
		if d.InterruptLine != irq {
			d.setInterruptLine(irq)
			b.Stats.InterruptLinesFixed++
		}
	}
	return errors.Join(errs...)
}

// program routes pirq to the interrupt in irqs the fewest PIRQs use.
func (r *pirqRouter) program(pirq uint8, irqs []uint8) (uint8, error) {
	if len(irqs) == 0 {
		return 0, fmt.Errorf("%s PIRQ%c: no ISA interrupt to route it to: %w", r.name, 'A'+pirq, ErrPIRQDisabled)
	}
	best, bestUsers := irqs[0], int(r.pirqs)+1
	for _, irq := range irqs {
		users := 0
		for p := range r.pirqs {
			if r.isaIRQ(p) == irq {
				users++
			}
		}
		if users < bestUsers {
			best, bestUsers = irq, users
		}
	}
	r.dev.Write8(routeReg(pirq), best)
	return best, nil
}

// setInterruptLine writes the Interrupt Line register and the snapshot. A
// bridge's dword also holds Bridge Control, whose Discard Timer Status the
// read-modify-write must not clear by writing its one back.
func (d *Device) setInterruptLine(irq uint8) {
	v := d.Read32(INTERRUPT_LINE)&^0xFF | uint32(irq)
	if d.IsBridge() {
		v &^= bridgeDiscardStatus << (8 * (BRIDGE_CONTROL - INTERRUPT_LINE))
	}
	d.Write32(INTERRUPT_LINE, v)
	d.InterruptLine = irq
}
