package pktgen_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"tamanet/devmodel/arena"
	"tamanet/e1000"
	e1000model "tamanet/e1000/model"
	"tamanet/inet"
	"tamanet/pktgen"
	"tamanet/pktgen/nicstats"
	"tamanet/virtio/virtionet"
	vnetmodel "tamanet/virtio/virtionet/model"
)

var (
	guestMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	tapMAC   = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	flow     = pktgen.Flow{
		EthDst: tapMAC, EthSrc: guestMAC,
		IPSrc: netip.MustParseAddr("10.0.2.15"), IPDst: netip.MustParseAddr("10.0.2.2"),
	}
)

// wire counts what a device model put on its wire, checking every frame
// as a receiver would.
type wire struct {
	t             testing.TB
	frames, bytes atomic.Uint64
	bad           atomic.Uint64
}

// carry takes one frame off the wire: at most a full 1514-byte frame, its
// IPv4 header and UDP or TCP checksum correct.
func (w *wire) carry(f []byte) {
	w.frames.Add(1)
	w.bytes.Add(uint64(len(f)))
	if !validFrame(f) {
		if w.bad.Add(1) == 1 {
			w.t.Errorf("bad frame on the wire (% x...)", f[:min(len(f), 64)])
		}
	}
}

// validFrame checks an IPv4 UDP or TCP frame's length and checksums.
func validFrame(f []byte) bool {
	if len(f) < 34 || len(f) > 1514 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return false
	}
	ip := f[14:]
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total != len(ip) || inet.Fold(inet.Sum(0, ip[:20])) != 0xFFFF {
		return false
	}
	l4 := ip[20:total]
	s := inet.Sum(0, ip[12:20]) + uint32(ip[9]) + uint32(len(l4))
	return inet.Fold(inet.Sum(s, l4)) == 0xFFFF
}

// nic is a driver on a device model, run as the unikernel runs it: an
// interrupt goroutine and the NAPI engine.
type nic struct {
	gen  *pktgen.Gen
	wire *wire
	// receive hands a frame to the device's receive side; false if the
	// device had no room for it.
	receive func(frame []byte) bool
}

// run starts the driver's goroutines: handle on each interrupt, and the
// poll engine; both stop when the test ends.
func run(t testing.TB, irq <-chan struct{}, handle func(), napiRun func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-irq:
				handle()
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { defer wg.Done(); napiRun(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// kicker returns an interrupt line that never blocks the model raising it.
func kicker() (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	return ch, func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// newE1000 is the e1000 driver on the datasheet model.
func newE1000(t testing.TB) (*nic, *e1000model.Model, *e1000.Device) {
	m := e1000model.New(e1000model.Config{MAC: guestMAC, MemSize: 32 << 20})
	t.Cleanup(m.Close)
	irq, kick := kicker()
	m.SetIRQHandler(kick)
	w := &wire{t: t}
	m.SetTransmitHandler(w.carry)
	d, err := e1000.New(m, m.DMA(), e1000.Config{})
	if err != nil {
		t.Fatal(err)
	}
	g := pktgen.New(d, nicstats.E1000(d))
	kick() // New may have latched a link change
	run(t, irq, func() {
		for m.IRQAsserted() && d.HandleInterrupt() {
		}
	}, d.NAPI().Run)
	return &nic{gen: g, wire: w, receive: func(f []byte) bool { return m.Receive(f) == nil }}, m, d
}

// newVirtio is the virtio-net driver on the model, on the modern PCI
// transport with its interrupt line.
func newVirtio(t testing.TB) (*nic, *vnetmodel.Model, *virtionet.Device) {
	mem := arena.New(64 << 20)
	irq, kick := kicker()
	w := &wire{t: t}
	m := vnetmodel.New(vnetmodel.Config{
		Memory: mem, MAC: guestMAC,
		IRQ: kick,
		// As a tap with vnet headers would, segment what the driver
		// left to the device.
		Transmit: func(f []byte, h vnetmodel.Header) {
			for _, seg := range vnetmodel.WireFrames(f, h) {
				w.carry(seg)
			}
		},
	})
	tr, err := m.Transport("pci-modern")
	if err != nil {
		t.Fatal(err)
	}
	d, err := virtionet.New(tr, mem, virtionet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	g := pktgen.New(d, nicstats.VirtioNet(d))
	run(t, irq, func() { d.HandleInterrupt() }, d.NAPI().Run)
	return &nic{gen: g, wire: w, receive: func(f []byte) bool { return m.Receive(f, vnetmodel.Header{}) == nil }}, m, d
}
