package netstack

import (
	"context"
	"sync"
	"testing"
	"time"

	"tamanet/e1000"
	"tamanet/e1000/model"
	"tamanet/netif"
)

// e1000NIC is one real e1000 driver on one software 82540EM, run the way
// the unikernel runs it: an interrupt goroutine calling HandleInterrupt
// while the line is asserted, the NAPI engine in its own goroutine, and the
// watchdog once in a while.
type e1000NIC struct {
	m *model.Model
	d *e1000.Device
}

// newE1000Wire builds two driver+model NICs whose wires feed each other's
// Receive, and stops them when the test ends.
func newE1000Wire(t testing.TB) (a, b *e1000NIC) { return newE1000WireWith(t, e1000.Config{}) }

// newE1000WireWith is newE1000Wire with the drivers configured by cfg.
func newE1000WireWith(t testing.TB, cfg e1000.Config) (a, b *e1000NIC) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := func(mac byte) *e1000NIC {
		m := model.New(model.Config{MAC: [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, mac}})
		irq := make(chan struct{}, 1)
		// The model raises the line synchronously inside whatever touched
		// it, possibly the peer's transmit; deliver it on our own goroutine
		// as an interrupt controller would.
		kick := func() {
			select {
			case irq <- struct{}{}:
			default:
			}
		}
		m.SetIRQHandler(kick)
		d, err := e1000.New(m, m.DMA(), cfg)
		if err != nil {
			t.Fatalf("e1000.New: %v", err)
		}
		kick() // New may have latched a link change
		wg.Add(3)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-irq:
					for m.IRQAsserted() && d.HandleInterrupt() {
					}
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
		return &e1000NIC{m: m, d: d}
	}
	a, b = start(0x01), start(0x02)
	// A frame the peer's ring has no room for is lost, as on a real wire;
	// the model counts it (MPC) and TCP retransmits.
	a.m.SetTransmitHandler(func(f []byte) { _ = b.m.Receive(f) })
	b.m.SetTransmitHandler(func(f []byte) { _ = a.m.Receive(f) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		a.m.Close()
		b.m.Close()
	})
	return a, b
}

// newE1000Pair wires two stacks through two e1000 drivers and models.
func newE1000Pair(t testing.TB) (*pair, *e1000NIC, *e1000NIC) {
	na, nb := newE1000Wire(t)
	return newStacks(t, na.d, nb.d), na, nb
}

// newE1000PairWith is newE1000Pair with stack options and, unless
// deviceCsum, the device's receive checksum verdicts withheld, as on QEMU's
// e1000 (which sets IXSM on every frame): netif and gVisor then verify
// every checksum the other model produced.
func newE1000PairWith(t testing.TB, cfg Config, deviceCsum bool) (*pair, *e1000NIC, *e1000NIC) {
	na, nb := newE1000Wire(t)
	var da, db netif.Driver = na.d, nb.d
	if !deviceCsum {
		da, db = noRxCsum{na.d}, noRxCsum{nb.d}
	}
	return newStacksWith(t, da, db, cfg), na, nb
}

// noRxCsum is the e1000 with its receive checksum verdicts withheld.
type noRxCsum struct{ *e1000.Device }

// Attach implements netif.Driver.
func (n noRxCsum) Attach(rx func([]byte, bool), link func(bool), txReady func()) {
	n.Device.Attach(func(f []byte, _ bool) { rx(f, false) }, link, txReady)
}

// The e1000 driver must satisfy what netif asks of a driver.
var (
	_ netif.Driver          = (*e1000.Device)(nil)
	_ netif.MulticastFilter = (*e1000.Device)(nil)
)

func TestE1000PingAndHTTP(t *testing.T) {
	p, _, _ := newE1000Pair(t)
	if err := ping(p.a, addrB.Addr(), []byte("ping over e1000")); err != nil {
		t.Fatal(err)
	}
	// IPv6 neighbour discovery needs the multicast filter programmed.
	eventually(t, "ICMPv6 echo over e1000 link-local", func() bool {
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

// TestE1000LargeTransfer moves 50 MB each way between two gVisor stacks over
// the e1000 driver and model with every offload on: gVisor hands 64 KiB TCP
// packets down (host GSO), the driver asks the model to segment them (TSO)
// and insert the checksums, and the receiving side, with the device's
// checksum verdicts withheld, verifies every segment before GRO merges it.
// The data must arrive byte-exact, and no checksum may fail.
func TestE1000LargeTransfer(t *testing.T) {
	p, na, nb := newE1000PairWith(t, Config{}, false)
	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 50<<20)

	for _, side := range []struct {
		name string
		st   *Stack
		nic  *e1000NIC
	}{{"A", p.a, na}, {"B", p.b, nb}} {
		nc, ds, ms := side.st.Endpoint().Counters(), side.nic.d.Stats(), side.nic.m.Stats()
		stack := side.st.Stats().Stack
		if nc.TxDrops() != 0 {
			t.Errorf("%s: netif tx drops %d", side.name, nc.TxDrops())
		}
		// Everything netif handed over, the driver queued; everything the
		// driver handed up, netif counted.
		if nc.TxFrames != ds.TX.Queued || nc.RxFrames != ds.RX.Packets {
			t.Errorf("%s: netif %+v vs driver TX %+v RX %+v", side.name, nc, ds.TX, ds.RX)
		}
		if nc.TxTSO == 0 || ds.TX.TSO != nc.TxTSO || ms.TxTSOContexts != ds.TX.TSO || ms.TxTSOSegments <= 2*ms.TxTSOContexts {
			t.Errorf("%s: TSO not used throughout: netif %d, driver %d, model %d contexts, %d segments",
				side.name, nc.TxTSO, ds.TX.TSO, ms.TxTSOContexts, ms.TxTSOSegments)
		}
		if ms.TxTSOFailed+ms.TxChecksumSkips+ms.TxBadSequence+ms.TxUnsupported+ms.TxDropped != 0 || ds.TX.DropBadOffload != 0 {
			t.Errorf("%s: model refused work: %+v", side.name, ms)
		}
		if stack.TCP.ChecksumErrors.Value() != 0 || stack.IP.MalformedPacketsReceived.Value() != 0 {
			t.Errorf("%s: checksum errors: TCP %d, IP malformed %d", side.name, stack.TCP.ChecksumErrors.Value(), stack.IP.MalformedPacketsReceived.Value())
		}
		if nc.RxGROOut*4 > nc.RxGROIn || nc.RxVerified == 0 {
			t.Errorf("%s: GRO merged little: %d segments in, %d packets out, %d verified", side.name, nc.RxGROIn, nc.RxGROOut, nc.RxVerified)
		}
		// The stack's views went to the device in place, and every hold
		// and mapping ended (the ring may still hold the last frames).
		if ds.TX.InPlace == 0 || ds.TX.Holds != nc.TxFrames {
			t.Errorf("%s: in place %d frames, %d holds, netif %d frames", side.name, ds.TX.InPlace, ds.TX.Holds, nc.TxFrames)
		}
		t.Logf("%s: netif %+v; driver TX %+v; interrupts %d, polls %d; model TDT writes %d, TSO %d -> %d segments, rx missed %d",
			side.name, nc, ds.TX, ds.Device.Interrupts, ds.NAPI.Polls, ms.TDTWrites, ms.TxTSOContexts, ms.TxTSOSegments, ms.RxNoDescriptors)
	}
}

// TestE1000Jumbo runs the stacks at MTU 9000 (jumbo frames on both
// models and drivers), TSO and GRO on: the transfer must be exact and carry
// frames longer than standard Ethernet.
func TestE1000Jumbo(t *testing.T) {
	na, nb := newE1000WireWith(t, e1000.Config{MTU: 9000})
	p := newStacksWith(t, noRxCsum{na.d}, noRxCsum{nb.d}, Config{})
	if mtu := p.a.Netstack().NICInfo()[NICID].MTU; mtu != 9000 {
		t.Errorf("NIC MTU %d, want 9000", mtu)
	}
	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 10<<20)
	for _, n := range []*e1000NIC{na, nb} {
		rx := n.d.Stats().RX
		if rx.Packets == 0 || rx.Bytes/rx.Packets < 3000 {
			t.Errorf("%d frames of %d bytes on average: jumbo frames not in use", rx.Packets, rx.Bytes/max(rx.Packets, 1))
		}
		if ms := n.m.Stats(); ms.RxOversize != 0 {
			t.Errorf("model refused %d frames as oversize", ms.RxOversize)
		}
	}
}

// TestE1000NoOffload is the same transfer, smaller, with the offloads off
// (offload=off): every frame built and checksummed by gVisor, nothing
// merged.
func TestE1000NoOffload(t *testing.T) {
	p, na, _ := newE1000PairWith(t, Config{NoOffload: true}, true)
	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 5<<20)
	nc, ds := p.a.Endpoint().Counters(), na.d.Stats()
	if nc.TxTSO+nc.TxCsumOffload+ds.TX.Contexts != 0 || nc.RxGROIn != nc.RxGROOut || nc.RxVerified != 0 {
		t.Errorf("offloads used: netif %+v, driver %+v", nc, ds.TX)
	}
}

func TestE1000LinkFlap(t *testing.T) {
	p, na, nb := newE1000Pair(t)
	flap(t, p, func(up bool) {
		na.m.SetLink(up)
		nb.m.SetLink(up)
	}, func() uint64 { return nb.m.Stats().RxFrames })
}

func BenchmarkE1000TCP(b *testing.B) {
	p, _, _ := newE1000Pair(b)
	benchTCP(b, p)
}

// BenchmarkE1000Download and BenchmarkE1000Upload are the bulk transfers of
// make bench over the model, with the device's receive checksum verdicts
// withheld as on QEMU: one TCP stream, and an echo (POST /echo). Their CPU
// profiles (go test -cpuprofile) are what bench/README.md's host-side
// profile tables come from. The receive rings hold a peer's whole transmit
// burst (1024 descriptors): QEMU stops feeding a full ring, the model drops
// into it as hardware would, and the retransmissions would swamp the
// profile.
func BenchmarkE1000Download(b *testing.B) { benchTCP(b, newBenchPair(b)) }

func BenchmarkE1000Upload(b *testing.B) { benchEcho(b, newBenchPair(b)) }

func newBenchPair(b *testing.B) *pair {
	na, nb := newE1000WireWith(b, e1000.Config{RxDescriptors: 1024})
	return newStacksWith(b, noRxCsum{na.d}, noRxCsum{nb.d}, Config{})
}
