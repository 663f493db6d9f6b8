//go:build tamago

package unikernel

import (
	"errors"
	"fmt"
	"os"
	"time"

	"tamanet/board"
	"tamanet/e1000"
	"tamanet/kernel"
	"tamanet/lattrace"
	"tamanet/pci"
)

// nic is the e1000 the unikernel serves on, with its PCI function and
// interrupt routing.
type nic struct {
	dev  *e1000.Device
	pci  *pci.Device
	bus  *pci.Bus
	regs board.MMIO32

	gsi  uint32
	trig kernel.Trigger
	pol  kernel.Polarity

	// linkEvent carries "the carrier changed" from the driver's link
	// upcall to logLink, which prints outside the interrupt path.
	linkEvent chan struct{}
}

// bringUpNIC enumerates PCI, assigns the BARs firmware left unassigned,
// binds the e1000 driver to the first 82540EM (and the other drivers in reg
// to their devices) and returns it. The bus table goes to the console once
// the driver is up.
func bringUpNIC(cfg e1000.Config, boot *bootLog, reg *pci.Registry) (*nic, error) {
	n := &nic{linkEvent: make(chan struct{}, 1)}
	err := e1000.Register(reg, e1000.Platform{
		Map: func(bar pci.BAR) (e1000.Registers, error) {
			m, err := board.MapMMIO(bar.Addr, bar.Size)
			n.regs = m
			return m, err
		},
		DMA:    board.DMA{},
		Config: cfg,
		Bound: func(d *e1000.Device, pd *pci.Device) error {
			if n.dev != nil {
				return fmt.Errorf("tamanet serves one e1000 and has %s", n.pci.Addr)
			}
			n.dev, n.pci = d, pd
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	bus, err := board.EnumeratePCI(reg)
	if err != nil {
		// The bus is complete and what could be placed was; the
		// functions at fault are named.
		fmt.Fprintf(os.Stderr, "tamanet: pci: %v\n", err)
	}
	n.bus = bus
	boot.mark(phasePCI)
	perr := bus.Probe()
	fmt.Print(bus)
	if n.dev == nil {
		return nil, fmt.Errorf("no e1000 (8086:100e) bound: %w", errors.Join(perr, errors.New("nothing to serve on")))
	}
	if perr != nil {
		fmt.Fprintf(os.Stderr, "tamanet: pci probe: %v\n", perr)
	}
	mac := n.dev.MAC()
	fmt.Printf("tamanet: e1000 at %s, registers %#x, MAC %x, link %v\n",
		n.pci.Addr, n.regs.Base(), mac[:], updown(n.dev.LinkUp()))
	return n, nil
}

// hookIRQ routes the function's INTx to HandleInterrupt. Every mode needs
// it: busy polling leaves receive and transmit causes masked after the first
// interrupt, but link changes still arrive as interrupts.
func (n *nic) hookIRQ() error {
	line, ok := n.pci.GSI()
	if !ok {
		return fmt.Errorf("e1000 at %s has no interrupt line (pin %d, line %#x)",
			n.pci.Addr, n.pci.InterruptPin, n.pci.InterruptLine)
	}
	n.gsi, n.trig, n.pol = kernel.ISARoute(uint8(line))
	return kernel.RequestIRQ("e1000", n.gsi, n.trig, n.pol, n.dev.HandleInterrupt)
}

// irqDesc describes the interrupt routing for the console.
func (n *nic) irqDesc() string {
	return fmt.Sprintf("%s line %d -> GSI %d %v/%v", n.pci.PinName(), n.pci.InterruptLine, n.gsi, n.trig, n.pol)
}

// watchdog runs the driver's housekeeping forever.
func (n *nic) watchdog(period time.Duration) {
	for range time.Tick(period) {
		lattrace.Record(lattrace.KindWatchdogStart, 0)
		err := n.dev.Watchdog()
		lattrace.Record(lattrace.KindWatchdogEnd, 0)
		if err != nil {
			fmt.Fprintf(os.Stderr, "tamanet: e1000 watchdog: %v\n", err)
		}
	}
}

// watchLink returns the driver as the stack should see it: carrier changes
// also wake logLink.
func (n *nic) watchLink() linkWatcher {
	return linkWatcher{Device: n.dev, event: n.linkEvent}
}

// logLink prints the carrier each time it changes, and records the first
// time it is up as a boot phase. Changes in quick succession may be printed
// once, with the state at the time of printing.
func (n *nic) logLink(boot *bootLog) {
	for range n.linkEvent {
		up := n.dev.LinkUp()
		if up {
			boot.mark(phaseLinkUp)
		}
		fmt.Printf("tamanet: link %s\n", updown(up))
	}
}

func updown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// linkWatcher is the e1000 as netif's Driver, with the link upcall also
// signalling event. Embedding keeps the device's other methods, the
// multicast filter included.
type linkWatcher struct {
	*e1000.Device
	event chan struct{}
}

// Attach implements netif.Driver.
func (w linkWatcher) Attach(rx func(frame []byte, csumOK bool), link func(up bool), txReady func()) {
	w.Device.Attach(rx, func(up bool) {
		if link != nil {
			link(up)
		}
		select {
		case w.event <- struct{}{}:
		default:
		}
	}, txReady)
}
