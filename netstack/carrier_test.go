package netstack

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tamanet/e1000"
	"tamanet/e1000/model"
)

// slowBus is the model behind a bus on which every register access gives
// up the processor, so that goroutines interleave between a register read
// and what the driver does with the value, as interrupts and preemption
// can make them on hardware. statusRead, if set, runs after every read of
// STATUS, before the driver sees the value.
type slowBus struct {
	*model.Model
	statusRead atomic.Pointer[func()]
}

func (b *slowBus) Read32(off uint32) uint32 {
	v := b.Model.Read32(off)
	if f := b.statusRead.Load(); f != nil && off == model.STATUS {
		(*f)()
	}
	runtime.Gosched()
	return v
}

func (b *slowBus) Write32(off, v uint32) {
	runtime.Gosched()
	b.Model.Write32(off, v)
}

// TestCarrierAgreesUnderResets interleaves link status change interrupts
// (the model's cable pulled and plugged back) with driver resets from
// several goroutines. Each step stops them right after the driver has read
// STATUS for the n-th time (n random) and holds that reader back for a
// moment, so that the last cable change, and its interrupt, land between
// a read of STATUS.LU and the carrier update that follows: the window in
// which a stale value can win. After every step
// the device's STATUS.LU, the driver's carrier, netif's carrier and the
// gVisor NIC's enabled state must agree. Interrupts run synchronously
// inside the register access or SetLink that raised them, so once the
// goroutines are done every link change has been handled.
func TestCarrierAgreesUnderResets(t *testing.T) {
	const (
		steps     = 300
		resetters = 3
	)
	m := model.New(model.Config{MAC: [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x01}})
	t.Cleanup(m.Close)
	var dev atomic.Pointer[e1000.Device]
	m.SetIRQHandler(func() {
		if d := dev.Load(); d != nil {
			d.HandleInterrupt()
		}
	})
	// No moderation: every interrupt is raised at once, none by a timer.
	// The model needs no time to reset: the driver's waits only yield.
	bus := &slowBus{Model: m}
	d, err := e1000.New(bus, m.DMA(), e1000.Config{
		Mitigation: &e1000.Mitigation{},
		Sleep:      func(time.Duration) { runtime.Gosched() },
	})
	if err != nil {
		t.Fatal(err)
	}
	dev.Store(d)
	st, err := NewStack(d, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if m.IRQAsserted() { // latched in New, before there was a handler
		d.HandleInterrupt()
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for step := range steps {
		final := step%3 != 0
		stopAfter := int64(1 + rng.IntN(8*resetters))
		var reads atomic.Int64
		stop, flapped := make(chan struct{}), make(chan struct{})
		stopAtRead := func() {
			if reads.Add(1) != stopAfter {
				return
			}
			close(stop)
			// A driver that serialises carrier updates may hold up the
			// flapper's interrupt until this reader is done: the wait is
			// bounded, and either outcome must end in agreement.
			select {
			case <-flapped:
			case <-time.After(5 * time.Millisecond):
			}
		}
		bus.statusRead.Store(&stopAtRead)
		var wg sync.WaitGroup
		for range resetters {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := d.Reset(); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Go(func() {
			for up := false; ; up = !up {
				select {
				case <-stop:
					m.SetLink(final)
					close(flapped)
					return
				default:
				}
				m.SetLink(up)
				runtime.Gosched()
			}
		})
		wg.Wait()
		bus.statusRead.Store(nil)

		where := fmt.Sprintf("step %d (cable %v)", step, final)
		if lu := m.Read32(model.STATUS)&model.STATUS_LU != 0; lu != final {
			t.Fatalf("%s: model STATUS.LU %v", where, lu)
		}
		if got := d.LinkUp(); got != final {
			t.Fatalf("%s: driver carrier %v, device STATUS.LU %v", where, got, final)
		}
		if got := st.Endpoint().LinkUp(); got != final {
			t.Fatalf("%s: netif carrier %v, driver %v", where, got, final)
		}
		// linkWatch applies carrier to the NIC on its own goroutine.
		eventually(t, where+": NIC enabled state follows carrier", func() bool {
			return st.Netstack().CheckNIC(NICID) == final
		})
	}
	s := d.Stats().Device
	t.Logf("%d resets, %d link interrupts, %d carrier changes reported", s.Resets, s.LinkInterrupts, s.LinkChanges)
}
