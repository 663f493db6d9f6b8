package netstack

import (
	"context"
	"sync"
	"testing"
	"time"

	"tamanet/devmodel/arena"
	"tamanet/netif"
	"tamanet/virtio/virtionet"
	"tamanet/virtio/virtionet/model"
)

// virtioNIC is one virtio-net driver on one software virtio-net device,
// run the way the unikernel runs it: an interrupt goroutine calling the
// handlers (the shared line, or the MSI-X vectors), the NAPI engine in its
// own goroutine, and the watchdog once in a while.
type virtioNIC struct {
	m *model.Model
	d *virtionet.Device
}

// The virtio-net driver must satisfy what netif asks of a driver.
var (
	_ netif.Driver    = (*virtionet.Device)(nil)
	_ netif.RxBatcher = (*virtionet.Device)(nil)
)

// newVirtioWire builds two driver+model NICs whose transmit sides feed
// each other's Receive (header and all, as QEMU hands a tap its vnet
// header), and stops them when the test ends.
func newVirtioWire(t testing.TB, kind string, mcfg model.Config, cfg virtionet.Config) (a, b *virtioNIC) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := func(mac byte) *virtioNIC {
		c := mcfg
		c.MAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, mac}
		c.Memory = arena.New(64 << 20)
		line := make(chan struct{}, 1)
		var vectors [3]chan struct{}
		for i := range vectors {
			vectors[i] = make(chan struct{}, 1)
		}
		kick := func(ch chan struct{}) {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		// The model raises interrupts synchronously inside whatever
		// touched it, possibly the peer's transmit; deliver them on our
		// own goroutine as an interrupt controller would.
		c.IRQ = func() { kick(line) }
		c.MSIX = func(v uint16) { kick(vectors[v%3]) }
		m := model.New(c)
		tr, err := m.Transport(kind)
		if err != nil {
			t.Fatal(err)
		}
		d, err := virtionet.New(tr, c.Memory.(*arena.Arena), cfg)
		if err != nil {
			t.Fatalf("virtionet.New: %v", err)
		}
		wg.Add(3)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-line:
					// One read of the interrupt status takes every cause.
					d.HandleInterrupt()
				case <-vectors[virtionet.VectorConfig]:
					d.HandleConfigInterrupt()
				case <-vectors[virtionet.VectorRx]:
					d.HandleQueueInterrupt()
				case <-vectors[virtionet.VectorTx]:
					d.HandleQueueInterrupt()
				case <-ctx.Done():
					return
				}
			}
		}()
		go func() { defer wg.Done(); d.NAPI().Run(ctx) }()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-time.After(100 * time.Millisecond):
					if err := d.Watchdog(); err != nil {
						t.Errorf("watchdog: %v", err)
					}
				case <-ctx.Done():
					return
				}
			}
		}()
		return &virtioNIC{m: m, d: d}
	}
	a, b = start(0x01), start(0x02)
	// A frame the peer has no buffer for is lost, as on a wire; the model
	// counts it and TCP retransmits.
	a.m.SetTransmit(func(f []byte, h model.Header) { _ = b.m.Receive(f, h) })
	b.m.SetTransmit(func(f []byte, h model.Header) { _ = a.m.Receive(f, h) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return a, b
}

// newVirtioPair wires two stacks through two virtio-net drivers and
// models, on the transport of kind (virtio/model.Kinds).
func newVirtioPair(t testing.TB, kind string, mcfg model.Config, cfg virtionet.Config) (*pair, *virtioNIC, *virtioNIC) {
	na, nb := newVirtioWire(t, kind, mcfg, cfg)
	return newStacks(t, na.d, nb.d), na, nb
}

func TestVirtioNetPingAndHTTP(t *testing.T) {
	p, _, _ := newVirtioPair(t, "pci-modern", model.Config{}, virtionet.Config{})
	if err := ping(p.a, addrB.Addr(), []byte("ping over virtio-net")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ICMPv6 echo over virtio-net link-local", func() bool {
		return ping(p.a, p.b.LinkLocal(), []byte("ping6")) == nil
	})
	c := serveHTTP(t, p.b, p.a)
	resp, err := c.Get(url + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %s", resp.Status)
	}
}

// TestVirtioNetLargeTransfer moves 50 MB each way with every offload on:
// gVisor hands 64 KiB TCP packets down (host GSO), the driver passes them
// to the device as GSO frames (HOST_TSO), the peer's device hands them up
// whole (GUEST_TSO, partial checksums), and the data must arrive exact.
func TestVirtioNetLargeTransfer(t *testing.T) {
	p, na, nb := newVirtioPair(t, "pci-modern", model.Config{}, virtionet.Config{})
	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 50<<20)
	for _, side := range []struct {
		name string
		st   *Stack
		nic  *virtioNIC
	}{{"A", p.a, na}, {"B", p.b, nb}} {
		nc, ds, ms := side.st.Endpoint().Counters(), side.nic.d.Stats(), side.nic.m.Stats()
		stack := side.st.Stats().Stack
		if nc.TxDrops() != 0 {
			t.Errorf("%s: netif tx drops %d", side.name, nc.TxDrops())
		}
		if nc.TxFrames != ds.TX.Queued || nc.RxFrames != ds.RX.Packets {
			t.Errorf("%s: netif %+v vs driver TX %+v RX %+v", side.name, nc, ds.TX, ds.RX)
		}
		if nc.TxTSO == 0 || ds.TX.TSO != nc.TxTSO || ms.TxGSO != ds.TX.TSO || ds.RX.GSO == 0 {
			t.Errorf("%s: TSO not used throughout: netif %d, driver %d, model %d, received GSO %d",
				side.name, nc.TxTSO, ds.TX.TSO, ms.TxGSO, ds.RX.GSO)
		}
		if ms.BadDescriptor+ms.BadAddress+ms.BadTxHeader+ms.BadTxFrame+ms.BadAvailIdx != 0 || ds.TX.DropBadOffload != 0 {
			t.Errorf("%s: model saw driver errors: %+v", side.name, ms)
		}
		if stack.TCP.ChecksumErrors.Value() != 0 || stack.IP.MalformedPacketsReceived.Value() != 0 {
			t.Errorf("%s: checksum errors: TCP %d, IP malformed %d", side.name, stack.TCP.ChecksumErrors.Value(), stack.IP.MalformedPacketsReceived.Value())
		}
		// The stack's views went to the device in place.
		if ds.TX.InPlace == 0 || ds.TX.Holds != nc.TxFrames {
			t.Errorf("%s: in place %d frames, %d holds, netif %d frames", side.name, ds.TX.InPlace, ds.TX.Holds, nc.TxFrames)
		}
		t.Logf("%s: driver TX %+v RX %+v; device %+v; NAPI polls %d; model %+v", side.name, ds.TX, ds.RX, ds.Device, ds.NAPI.Polls, ms)
	}
}

// TestVirtioNetFeatureMatrix runs a smaller exact transfer over devices
// and drivers with features taken away, down to a legacy device with none.
func TestVirtioNetFeatureMatrix(t *testing.T) {
	for _, c := range []struct {
		name, kind string
		mcfg       model.Config
		cfg        virtionet.Config
	}{
		{"mmio-v1-none", "mmio-v1", model.Config{NoFeatures: true}, virtionet.Config{}},
		{"pci-legacy-all", "pci-legacy", model.Config{}, virtionet.Config{}},
		{"mmio-v2-all", "mmio-v2", model.Config{}, virtionet.Config{}},
		{"modern-version1-only", "pci-modern", model.Config{Features: model.F_VERSION_1 | model.F_MAC}, virtionet.Config{}},
		{"modern-no-mrg", "pci-modern", model.Config{Features: model.AllFeatures &^ model.F_MRG_RXBUF}, virtionet.Config{}},
		{"modern-no-guest-offloads", "pci-modern", model.Config{}, virtionet.Config{NoGuestCsum: true}},
		{"modern-no-event-idx-msix", "pci-modern", model.Config{}, virtionet.Config{NoEventIdx: true, MSIX: true}},
		{"modern-mtu-9000", "pci-modern", model.Config{MTU: 9000}, virtionet.Config{MTU: 9000, NoTSO: true, NoGuestTSO: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, na, _ := newVirtioPair(t, c.kind, c.mcfg, c.cfg)
			cl := serveHTTP(t, p.b, p.a)
			transferBothWays(t, cl, url, 4<<20)
			ds, ms, g := na.d.Stats(), na.m.Stats(), na.m.Device().Stats()
			if ms.BadDescriptor+ms.BadAddress+ms.BadTxHeader+ms.BadTxFrame+ms.BadAvailIdx+g.FeaturesRefused+g.BadQueue != 0 {
				t.Errorf("model saw driver errors: %+v %+v", ms, g)
			}
			t.Logf("features %q; TX %+v; RX %+v", na.d.Features(), ds.TX, ds.RX)
		})
	}
}

func TestVirtioNetLinkFlap(t *testing.T) {
	p, na, nb := newVirtioPair(t, "pci-modern", model.Config{}, virtionet.Config{})
	flap(t, p, func(up bool) {
		na.m.SetLink(up)
		nb.m.SetLink(up)
	}, func() uint64 { return nb.m.Stats().RxFrames })
}

// TestVirtioNetResetMidTransfer: the device asks for a reset while data
// flows; the watchdog resets it and TCP carries the transfer through.
func TestVirtioNetResetMidTransfer(t *testing.T) {
	p, na, _ := newVirtioPair(t, "pci-modern", model.Config{}, virtionet.Config{})
	c := serveHTTP(t, p.b, p.a)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Three resets, each after another 1.5 MB arrived and once the
		// one before was carried out: a second request while the device
		// still needs resetting is the same request, so a loaded host
		// that delays the watchdog would see two resets, not three.
		for i := range 3 {
			want := uint64(1500_000 * (i + 1))
			for deadline := time.Now().Add(20 * time.Second); (na.m.Stats().RxBytes < want || na.d.Stats().Device.Resets < uint64(i)) && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			na.m.SetNeedsReset()
		}
	}()
	transferBothWays(t, c, url, 8<<20)
	<-done
	eventually(t, "resets carried out", func() bool { return na.d.Stats().Device.Resets == 3 && na.d.LinkUp() })
	ds := na.d.Stats()
	t.Logf("device %+v; TX %+v; RX %+v", ds.Device, ds.TX, ds.RX)
}
