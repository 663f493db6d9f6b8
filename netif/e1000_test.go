package netif

import (
	"context"
	"sync"
	"testing"
	"time"

	"tamanet/e1000"
	"tamanet/e1000/model"
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
func newE1000Wire(t testing.TB) (a, b *e1000NIC) {
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
		d, err := e1000.New(m, m.DMA(), e1000.Config{})
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

// The e1000 driver must satisfy what netif asks of a driver.
var (
	_ Driver          = (*e1000.Device)(nil)
	_ MulticastFilter = (*e1000.Device)(nil)
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

func TestE1000LargeTransfer(t *testing.T) {
	p, na, nb := newE1000Pair(t)
	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 20<<20)

	for _, side := range []struct {
		name string
		st   *Stack
		nic  *e1000NIC
	}{{"A", p.a, na}, {"B", p.b, nb}} {
		nc, ds := side.st.Endpoint().Counters(), side.nic.d.Stats()
		if nc.TxDrops() != 0 {
			t.Errorf("%s: netif tx drops %d", side.name, nc.TxDrops())
		}
		// Everything netif handed over, the driver queued; everything the
		// driver handed up, netif counted.
		if nc.TxFrames != ds.TX.Queued || nc.RxFrames != ds.RX.Packets || nc.RxCsumOK != ds.RX.ChecksumOffloaded {
			t.Errorf("%s: netif %+v vs driver TX %+v RX %+v", side.name, nc, ds.TX, ds.RX)
		}
		t.Logf("%s: netif backpressure %d; driver ring full %d, interrupts %d, polls %d, budget exhaustions %d; model %+v",
			side.name, nc.TxBackpressure, ds.TX.RingFull, ds.Device.Interrupts, ds.NAPI.Polls, ds.NAPI.BudgetExhaustions, side.nic.m.Stats())
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
