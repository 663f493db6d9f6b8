//go:build tamago

package unikernel

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"tamanet/board"
	"tamanet/lattrace"
	"tamanet/napi"
	"tamanet/netif"
	"tamanet/pci"
	"tamanet/pktgen"
	"tamanet/unikernel/entropy"
	"tamanet/unikernel/virtioboard"
	"tamanet/virtio/mmio"
)

// netDevice is a NIC driver as the unikernel runs it: netif's Driver plus
// its poll engine, station address and housekeeping. The e1000 and the
// virtio-net driver both satisfy it.
type netDevice interface {
	netif.Driver
	NAPI() *napi.Instance
	SetMAC(mac [6]byte) error
	Watchdog() error
}

// nic is the NIC the unikernel serves on, whichever driver bound it.
type nic struct {
	// kind names the device ("e1000", "virtio-net"); where says where it
	// is and what it negotiated, for the console.
	kind, where string
	// features lists what the driver negotiated with the device, for
	// READY (empty where there is nothing to negotiate).
	features string
	dev      netDevice
	bus      *pci.Bus
	mmio     mmio.Stats // virtio-mmio discovery

	// onFirstRx, if set, is called with the first received frame, for
	// a driver that does not report it itself.
	onFirstRx func()

	// hookIRQ routes the device's interrupts to its driver and returns
	// the routing for the READY line.
	hookIRQ func() (string, error)
	irq     string
	// stats fills the driver's member of /stats.
	stats func(*Stats)
	// pktgenCounters reads what pktgen reports of the driver and device.
	pktgenCounters func() pktgen.Counters

	// linkEvent carries "the carrier changed" from the driver's link
	// upcall to logLink, which prints outside the interrupt path.
	linkEvent chan struct{}
}

// nicConfig is what every driver takes from the boot options.
type nicConfig struct {
	napi         napi.Config
	mtu          int
	noMitigation bool
	noOffload    bool
	boot         *bootLog
}

// bindFunc claims a device for the unikernel: the first one bound is
// served, a second is an error (the unikernel serves one NIC).
type bindFunc func(n *nic) error

// bringUpNIC enumerates PCI, assigns the BARs firmware left unassigned,
// binds the drivers in reg and ours (e1000; virtio-net and the entropy
// policy's virtio-rng over PCI and virtio-mmio) and returns the NIC that
// came up. The bus table goes to the console once the drivers are up.
func bringUpNIC(cfg nicConfig, reg *pci.Registry, ent *entropy.Policy) (*nic, error) {
	var served *nic
	bind := func(n *nic) error {
		if served != nil {
			return fmt.Errorf("tamanet serves one NIC and has the %s %s", served.kind, served.where)
		}
		n.linkEvent = make(chan struct{}, 1)
		served = n
		return nil
	}
	if err := registerE1000(reg, cfg, bind); err != nil {
		return nil, err
	}
	mmioBinders, err := registerVirtio(reg, cfg, bind, ent)
	if err != nil {
		return nil, err
	}
	bus, err := board.EnumeratePCI(reg)
	if err != nil {
		// The bus is complete and what could be placed was; the
		// functions at fault are named.
		fmt.Fprintf(os.Stderr, "tamanet: pci: %v\n", err)
	}
	cfg.boot.mark(phasePCI)
	perr := bus.Probe()
	fmt.Print(bus)
	// microvm: no PCI, its virtio devices on virtio-mmio transports. A
	// bad virtio_mmio.device= entry costs that device, not the boot.
	_, mstats, merr := virtioboard.ProbeMMIO(mmioBinders)
	if served == nil {
		return nil, fmt.Errorf("no NIC bound (an e1000 8086:100e or a virtio-net device): %w",
			errors.Join(perr, merr, errors.New("nothing to serve on")))
	}
	if err := errors.Join(perr, merr); err != nil {
		fmt.Fprintf(os.Stderr, "tamanet: probe: %v\n", err)
	}
	served.bus, served.mmio = bus, mstats
	mac := served.dev.MAC()
	fmt.Printf("tamanet: %s %s, MAC %x, link %v\n", served.kind, served.where, mac[:], updown(served.dev.LinkUp()))
	return served, nil
}

// watchdog runs the driver's housekeeping forever.
func (n *nic) watchdog(period time.Duration) {
	for range time.Tick(period) {
		lattrace.Record(lattrace.KindWatchdogStart, 0)
		err := n.dev.Watchdog()
		lattrace.Record(lattrace.KindWatchdogEnd, 0)
		if err != nil {
			fmt.Fprintf(os.Stderr, "tamanet: %s watchdog: %v\n", n.kind, err)
		}
	}
}

// watchLink returns the driver as the stack should see it: carrier changes
// also wake logLink.
func (n *nic) watchLink() netif.Driver {
	w := linkWatcher{netDevice: n.dev, event: n.linkEvent, onFirstRx: n.onFirstRx}
	// The stack looks for these by type assertion: keep them visible.
	mf, hasFilter := n.dev.(netif.MulticastFilter)
	rb, batches := n.dev.(netif.RxBatcher)
	switch {
	case hasFilter && batches:
		return struct {
			linkWatcher
			netif.MulticastFilter
			netif.RxBatcher
		}{w, mf, rb}
	case batches:
		return struct {
			linkWatcher
			netif.RxBatcher
		}{w, rb}
	case hasFilter:
		return struct {
			linkWatcher
			netif.MulticastFilter
		}{w, mf}
	}
	return w
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

// linkWatcher is the driver as netif's Driver, with the link upcall also
// signalling event.
type linkWatcher struct {
	netDevice
	event     chan struct{}
	onFirstRx func()
}

// Attach implements netif.Driver.
func (w linkWatcher) Attach(rx func(frame []byte, csumOK bool), link func(up bool), txReady func()) {
	if first := w.onFirstRx; first != nil && rx != nil {
		var seen atomic.Bool
		next := rx
		rx = func(frame []byte, csumOK bool) {
			if !seen.Load() && seen.CompareAndSwap(false, true) {
				first()
			}
			next(frame, csumOK)
		}
	}
	w.netDevice.Attach(rx, func(up bool) {
		if link != nil {
			link(up)
		}
		select {
		case w.event <- struct{}{}:
		default:
		}
	}, txReady)
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}
