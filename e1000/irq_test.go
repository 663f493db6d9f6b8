package e1000

import (
	"testing"
	"time"

	"tamanet/napi"
)

func TestLinkFlap(t *testing.T) {
	r := newRig(t, Config{})
	r.links = nil
	r.m.SetLink(false)
	if r.d.LinkUp() || len(r.links) != 1 || r.links[0] {
		t.Fatalf("after cable pull: LinkUp %v, upcalls %v", r.d.LinkUp(), r.links)
	}
	if err := r.m.Receive(frame(testMAC, 100, 1)); err == nil {
		t.Error("model received with the link down")
	}
	r.m.SetLink(true)
	if !r.d.LinkUp() || len(r.links) != 2 || !r.links[1] {
		t.Fatalf("after cable back: LinkUp %v, upcalls %v", r.d.LinkUp(), r.links)
	}
	r.receive(frame(testMAC, 100, 2))
	r.drain()
	if len(r.rx) != 1 {
		t.Errorf("delivered %d after the flap", len(r.rx))
	}
	s := r.d.Stats().Device
	if s.LinkInterrupts < 2 || s.LinkChanges != 2 {
		t.Errorf("device stats %+v", s)
	}
}

// TestOneICRReadPerInterrupt: every interrupt edge leads to exactly one
// HandleInterrupt and one ICR read, and a call with nothing pending (a
// shared line) reads ICR once and reports false.
func TestOneICRReadPerInterrupt(t *testing.T) {
	r := newRig(t, Config{RxDescriptors: 32, TxDescriptors: 32})
	icr0, edges0, irqs0 := r.m.Stats().ICRReads, r.m.Stats().Interrupts, r.irqs
	for i := range 100 {
		r.receive(frame(testMAC, 100, uint32(i)))
		if i%3 == 0 {
			r.transmit(frame(peerMAC, 100, uint32(i)))
		}
		if i%4 == 3 {
			r.drain()
		}
	}
	r.m.SetLink(false)
	r.m.SetLink(true)
	r.drain()
	ms := r.m.Stats()
	edges, reads, calls := ms.Interrupts-edges0, ms.ICRReads-icr0, r.irqs-irqs0
	if edges == 0 || uint64(calls) != edges || reads != edges {
		t.Errorf("%d edges, %d handler calls, %d ICR reads: want all equal", edges, calls, reads)
	}
	if r.d.HandleInterrupt() {
		t.Error("HandleInterrupt claimed an interrupt with ICR clear")
	}
	if s := r.d.Stats().Device; s.Spurious != 1 || r.m.Stats().ICRReads != icr0+reads+1 {
		t.Errorf("spurious %d, ICR reads %d", s.Spurious, r.m.Stats().ICRReads-icr0)
	}
	if len(r.rx) != 100 {
		t.Errorf("delivered %d of 100", len(r.rx))
	}
}

// TestReceiveDelayTimersFewerInterrupts feeds the same paced traffic (a
// frame every 5 µs, the poll run after each) to the driver with and
// without the receive delay timers (RDTR 20 µs, RADV 100 µs). Everything is
// delivered either way; without the timers every frame raises an
// interrupt, in NAPI and interrupt mode alike, and with them a few frames
// share one. The saving measured here is the timers', not NAPI's.
func TestReceiveDelayTimersFewerInterrupts(t *testing.T) {
	const packets = 200
	run := func(cfg Config) (irqs uint64, s Stats) {
		r := newRig(t, cfg)
		edges0 := r.m.Stats().Interrupts
		for i := range packets {
			r.receive(frame(testMAC, 200, uint32(i)))
			r.m.Advance(5 * time.Microsecond) // packets 5 us apart on the wire
			r.drain()
		}
		r.m.Advance(time.Millisecond) // let the last timer expire
		r.drain()
		if len(r.rx) != packets {
			t.Fatalf("%v: delivered %d of %d", cfg.NAPI.Mode, len(r.rx), packets)
		}
		return r.m.Stats().Interrupts - edges0, r.d.Stats()
	}
	timedIRQs, ts := run(Config{
		Mitigation: &Mitigation{RDTR: 20 * time.Microsecond, RADV: 100 * time.Microsecond},
		NAPI:       napi.Config{Mode: napi.ModeNAPI},
	})
	napiIRQs, _ := run(Config{Mitigation: &Mitigation{}, NAPI: napi.Config{Mode: napi.ModeNAPI}})
	intIRQs, _ := run(Config{Mitigation: &Mitigation{}, NAPI: napi.Config{Mode: napi.ModeInterrupt}})
	t.Logf("NAPI with the delay timers: %d interrupts, %d polls; without: NAPI %d, interrupt mode %d interrupts",
		timedIRQs, ts.NAPI.Polls, napiIRQs, intIRQs)
	if napiIRQs < packets || intIRQs < packets {
		t.Errorf("without the timers: NAPI %d, interrupt mode %d interrupts for %d packets, want one each", napiIRQs, intIRQs, packets)
	}
	if timedIRQs*4 > packets {
		t.Errorf("with the delay timers: %d interrupts for %d packets", timedIRQs, packets)
	}
	if ts.NAPI.PollSizes.Buckets[0] == ts.NAPI.Polls {
		t.Error("NAPI polls never harvested")
	}
}

// TestMaskedWhilePollOwed: the first receive interrupt masks the receive and
// transmit causes (LSC stays on) until the poll completes, so a burst costs
// one interrupt.
func TestMaskedWhilePollOwed(t *testing.T) {
	r := newRig(t, Config{})
	edges := r.m.Stats().Interrupts
	r.receive(frame(testMAC, 100, 0))
	if ims := r.m.Read32(IMS); ims&intrPoll != 0 || ims&ICR_LSC == 0 || !r.d.NAPI().Scheduled() {
		t.Fatalf("after a receive interrupt: IMS %#x, scheduled %v", ims, r.d.NAPI().Scheduled())
	}
	for i := range 10 {
		r.receive(frame(testMAC, 100, uint32(i+1)))
		r.transmit(frame(peerMAC, 100, uint32(i)))
	}
	if got := r.m.Stats().Interrupts - edges; got != 1 {
		t.Errorf("%d interrupts for a burst while the poll was owed, want 1", got)
	}
	r.drain()
	if ims := r.m.Read32(IMS); ims != intrEnabled || len(r.rx) != 11 {
		t.Errorf("after the poll: IMS %#x, %d delivered", ims, len(r.rx))
	}
}
