// Package virtionet drives a virtio network device (Virtual I/O Device
// specification 1.2, section 5.1; QEMU's virtio-net-pci and
// virtio-net-device) over any virtio.Transport, with one receive and one
// transmit queue. Section numbers in comments refer to that
// specification.
//
// It plugs into the stack the way the e1000 driver does: it satisfies
// netif.Driver and netif.RxBatcher without importing netif, and a
// napi.Instance runs its receive and transmit-completion work, with the
// queues' interrupts suppressed while a poll is owed and re-armed with a
// check for work that arrived meanwhile. Every feature is negotiated on
// purpose and the driver works without it: MAC, STATUS, MTU, CSUM and
// GUEST_CSUM, HOST_TSO4/6 and GUEST_TSO4/6, MRG_RXBUF, EVENT_IDX, on a
// modern (VERSION_1) or legacy device. Frames are copied into and out of
// preallocated DMA buffers; nothing is allocated per packet.
package virtionet

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"tamanet/napi"
	"tamanet/upcall"
	"tamanet/virtio"
)

// Errors returned by the driver.
var (
	ErrConfig = errors.New("virtio-net: invalid configuration")
	ErrBadMAC = errors.New("virtio-net: not a unicast station address")
	ErrDMA    = errors.New("virtio-net: DMA memory unusable")
)

// Device status bits the driver reads (2.1).
const (
	statusNeedsReset = virtio.STATUS_DEVICE_NEEDS_RESET
	statusFailed     = virtio.STATUS_FAILED
)

// Device is one virtio network device. Its methods are safe for
// concurrent use: the receive path and the transmit path each have their
// own lock, taken in that order when both are needed (reset), and carrier
// updates take carrierMu after either.
type Device struct {
	t    virtio.Transport
	vdev *virtio.Device // the initialisation sequence's state
	cfg  Config
	napi *napi.Instance

	features Features
	hdrLen   int  // virtio_net_hdr length: 12 or 10
	split    bool // legacy without ANY_LAYOUT: the header has its own descriptor
	mtu      int

	rxMu sync.Mutex
	rxq  *virtio.Queue
	rxb  rxBuffers
	rx   RxStats
	// merging is the packet being put together from several buffers
	// (MRG_RXBUF), possibly across polls.
	merging rxMerge
	rxPkt   rxPacket // the packet being delivered, kept here to stay off the heap

	txMu      sync.Mutex
	txq       *virtio.Queue
	txMem     txArena
	txSlots   []txSlot                  // per chain head
	txChain   [maxTxChain]virtio.Buffer // scratch for one chain
	mapper    virtio.DMAMapper          // nil: every frame is copied
	txStopped bool
	txWatch   txWatch
	tx        TxStats

	macMu sync.Mutex
	mac   [6]byte

	carrierMu sync.Mutex
	broken    bool // the device needs a reset, or one failed: no carrier
	carrier   atomic.Bool
	up        upcall.Set
	dev       devCounters
}

// Compile-time check that the driver is a poller for the engine.
var _ napi.Poller = (*Device)(nil)

// New brings up the device behind t (3.1.1): reset, ACKNOWLEDGE and
// DRIVER, the features both sides want (FEATURES_OK on a modern device),
// the receive and transmit queues and their buffers in memory from dma,
// receive buffers posted, DRIVER_OK. On failure the device is marked
// FAILED.
func New(t virtio.Transport, dma virtio.DMA, cfg Config) (*Device, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Device{t: t, cfg: cfg}
	d.napi = napi.New(d, cfg.NAPI)
	if err := d.start(); err != nil {
		return nil, err
	}
	if err := d.setup(dma); err != nil {
		d.vdev.Fail()
		return nil, err
	}
	if err := d.ready(); err != nil {
		return nil, err
	}
	return d, nil
}

// start resets the device and negotiates features (3.1.1 steps 1-6,
// package virtio's Init). A restart after a reset asks for the same set
// as before. A device that offers a feature without one it requires gets
// a second reset and the consistent subset.
func (d *Device) start() error {
	want := d.cfg.wanted(d.t.Legacy())
	if d.features != 0 {
		want = d.features
	}
	vdev, err := virtio.Init(d.t, uint64(want))
	if err != nil {
		return fmt.Errorf("virtio-net: %w", err)
	}
	if f := consistent(Features(vdev.Features())); f != Features(vdev.Features()) {
		if vdev, err = virtio.Init(d.t, uint64(f)); err != nil {
			return fmt.Errorf("virtio-net: %w", err)
		}
	}
	d.vdev = vdev
	d.features = Features(vdev.Features())
	d.hdrLen = headerLen(d.features)
	d.split = d.t.Legacy() && !d.features.Has(VIRTIO_F_ANY_LAYOUT)
	return nil
}

// setup reads the configuration and builds the queues and buffers (3.1.1
// step 7).
func (d *Device) setup(dma virtio.DMA) error {
	f := d.features
	d.mtu = d.cfg.MTU
	if f.Has(VIRTIO_NET_F_MTU) {
		// The device's maximum (5.1.4.1): the driver stays under it.
		if m := int(d.configLE16(configMTU)); m >= MinMTU && m < d.mtu {
			d.mtu = m
		}
	}
	switch {
	case d.cfg.MAC != [6]byte{}:
		d.mac = d.cfg.MAC
	case f.Has(VIRTIO_NET_F_MAC):
		d.t.ReadConfig(configMAC, d.mac[:])
	}
	if !validUnicast(d.mac) {
		// No usable address from the device: a random locally
		// administered one, as Linux's eth_hw_addr_random.
		_, _ = rand.Read(d.mac[:])
		d.mac[0] = d.mac[0]&^1 | 2
	}
	if d.t.Legacy() && !f.Has(VIRTIO_NET_F_MAC) {
		// A legacy device takes the driver's address in its
		// configuration (5.1.4.2, legacy).
		d.t.WriteConfig(configMAC, d.mac[:])
	}
	ev := f.Has(virtio.VIRTIO_F_RING_EVENT_IDX)
	var err error
	if d.rxq, err = virtio.NewQueue(d.t, rxQueue, uint16(d.cfg.RxQueueSize), dma, d.vector(VectorRx), ev); err != nil {
		return err
	}
	if d.txq, err = virtio.NewQueue(d.t, txQueue, uint16(d.cfg.TxQueueSize), dma, d.vector(VectorTx), ev); err != nil {
		return err
	}
	if d.cfg.MSIX {
		if err := d.t.SetConfigVector(VectorConfig); err != nil {
			return err
		}
	}
	if err := d.allocRx(dma); err != nil {
		return err
	}
	return d.allocTx(dma)
}

// vector is v with MSI-X, else none.
func (d *Device) vector(v uint16) uint16 {
	if d.cfg.MSIX {
		return v
	}
	return virtio.NoVector
}

// ready posts the receive buffers, sets DRIVER_OK (3.1.1 step 8) and
// reads the link.
func (d *Device) ready() error {
	d.rxFill()
	d.rxq.Publish()
	// Transmit completions interrupt only when a full queue waits for
	// room (see txMakeRoom); they are reclaimed as frames go out.
	d.txq.DisableInterrupts()
	if err := d.vdev.Ready(); err != nil {
		d.setBroken(true)
		return fmt.Errorf("virtio-net: %w", err)
	}
	// No notification before DRIVER_OK (3.1.1); the buffers posted
	// above are announced now.
	d.rxKick()
	d.setBroken(false)
	return nil
}

// configLE16 reads a 16-bit configuration field (little-endian on a
// modern device, the guest's order, also little-endian, on a legacy one).
func (d *Device) configLE16(off int) uint16 {
	var b [2]byte
	d.t.ReadConfig(off, b[:])
	return uint16(b[0]) | uint16(b[1])<<8
}

// NAPI returns the device's poll engine; the owner runs it (Run) after
// hooking the interrupt handlers.
func (d *Device) NAPI() *napi.Instance { return d.napi }

// MTU is the largest IP payload per frame.
func (d *Device) MTU() int { return d.mtu }

// Features returns the negotiated features by name, for the console and
// /stats.
func (d *Device) Features() string { return d.features.String() }

// FeatureBits returns the negotiated feature bits.
func (d *Device) FeatureBits() Features { return d.features }

// MAC returns the station address.
func (d *Device) MAC() [6]byte {
	d.macMu.Lock()
	defer d.macMu.Unlock()
	return d.mac
}

// SetMAC changes the station address the driver reports. A legacy device
// also gets it in its configuration; a modern one without a control queue
// keeps receiving in QEMU's default promiscuous mode. It returns
// ErrBadMAC for a multicast or all-zero address.
func (d *Device) SetMAC(mac [6]byte) error {
	if !validUnicast(mac) {
		return fmt.Errorf("%w: % x", ErrBadMAC, mac[:])
	}
	d.macMu.Lock()
	defer d.macMu.Unlock()
	d.mac = mac
	if d.t.Legacy() {
		d.t.WriteConfig(configMAC, mac[:])
	}
	return nil
}

// validUnicast reports a unicast, nonzero address.
func validUnicast(mac [6]byte) bool { return mac[0]&1 == 0 && mac != [6]byte{} }

// LinkUp reports the carrier: the configuration's VIRTIO_NET_S_LINK_UP
// with VIRTIO_NET_F_STATUS (else always up, 5.1.4.2), as last read, and
// down while the device needs a reset.
func (d *Device) LinkUp() bool { return d.carrier.Load() }

// Attach registers the stack's callbacks. rx runs in the poll loop for
// each good frame, which is valid only during the call; link runs on
// carrier changes, one at a time, in order; txReady runs when a transmit
// queue that turned frames away has room again. Any may be nil.
func (d *Device) Attach(rx func(frame []byte, csumOK bool), link func(up bool), txReady func()) {
	d.up.Attach(rx, link, txReady)
}

// OnRxBatchEnd registers f, called in the poll loop after each poll that
// delivered frames, so the stack can finish what it batches (GRO).
func (d *Device) OnRxBatchEnd(f func()) { d.up.OnRxBatchEnd(f) }

// syncCarrier reads the link status and tells the stack if the carrier
// changed; reading and telling are one step under carrierMu, so changes
// reach the stack in order.
func (d *Device) syncCarrier() {
	d.carrierMu.Lock()
	defer d.carrierMu.Unlock()
	d.syncCarrierLocked()
}

func (d *Device) syncCarrierLocked() {
	up := !d.broken
	if up && d.features.Has(VIRTIO_NET_F_STATUS) {
		up = d.configLE16(configStatus)&VIRTIO_NET_S_LINK_UP != 0
	}
	if d.carrier.Swap(up) == up {
		return
	}
	d.dev.linkChanges.Add(1)
	d.up.Link(up)
}

// setBroken records whether the device is unusable and updates the
// carrier to match.
func (d *Device) setBroken(v bool) {
	d.carrierMu.Lock()
	defer d.carrierMu.Unlock()
	d.broken = v
	d.syncCarrierLocked()
}
