package e1000

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentTraffic runs the engine in its own goroutine while other
// goroutines feed the wire, transmit (including from inside the rx
// callback) and run the watchdog, and checks nothing is lost or stuck. The
// model writes receive descriptors from the goroutine that feeds the wire,
// as a device does by DMA, and publishes each write-back with an atomic
// store of its status word: under -race this test checks that the driver
// reads no descriptor field before its atomic load of that word.
func TestConcurrentTraffic(t *testing.T) {
	r := newRig(t, Config{RxDescriptors: 64, TxDescriptors: 64})
	var rxCount, echoed, wire atomic.Int64
	var echoMu sync.Mutex
	pending := 0 // echoes turned away, retried on txReady
	r.m.SetTransmitHandler(func([]byte) { wire.Add(1) })
	echo := frame(peerMAC, 64, 0)
	r.d.Attach(func(f []byte, _ bool) {
		rxCount.Add(1)
		if r.transmit(echo) == 1 {
			echoed.Add(1)
		} else {
			echoMu.Lock()
			pending++
			echoMu.Unlock()
		}
	}, nil, func() {})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.d.NAPI().Run(ctx) }()
	stopWD := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stopWD:
				return
			case <-time.After(time.Millisecond):
				if err := r.d.Watchdog(); err != nil {
					t.Error(err)
				}
			}
		}
	}()

	const frames = 20000
	sent := 0
	for sent < frames {
		if err := r.m.Receive(frame(testMAC, 128, uint32(sent))); err != nil {
			time.Sleep(10 * time.Microsecond) // ring full: let the poller run
			continue
		}
		sent++
	}
	deadline := time.Now().Add(20 * time.Second)
	for rxCount.Load() != frames {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of %d; stats %+v", rxCount.Load(), frames, r.d.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	close(stopWD)
	cancel()
	wg.Wait()
	r.d.Watchdog()
	s := r.d.Stats()
	echoMu.Lock()
	turnedAway := pending
	echoMu.Unlock()
	if echoed.Load()+int64(turnedAway) != frames || wire.Load() != echoed.Load() {
		t.Errorf("echoed %d + turned away %d != %d, or %d on the wire", echoed.Load(), turnedAway, frames, wire.Load())
	}
	if s.Device.Resets != 0 || s.RX.Packets != frames {
		t.Errorf("stats %+v", s)
	}
	t.Logf("interrupts %d, polls %d, exhaustions %d, missed repolls %d, tx ring full %d",
		s.Device.Interrupts, s.NAPI.Polls, s.NAPI.BudgetExhaustions, s.NAPI.MissedRepolls, s.TX.RingFull)
}
