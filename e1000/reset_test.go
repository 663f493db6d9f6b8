package e1000

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"tamanet/e1000/model"
	"tamanet/napi"
)

// busEvent is one register access, or a sleep, by the driver.
type busEvent struct {
	op  byte // 'R' read, 'W' write, 'S' sleep
	off uint32
	val uint32
	d   time.Duration
}

func (e busEvent) String() string {
	if e.op == 'S' {
		return fmt.Sprintf("sleep %v", e.d)
	}
	return fmt.Sprintf("%c %#05x %#x", e.op, e.off, e.val)
}

// traceBus records the driver's register accesses and sleeps, in order;
// sleeping moves the model's manual clock.
type traceBus struct {
	*model.Model
	log []busEvent
}

func (b *traceBus) Read32(off uint32) uint32 {
	v := b.Model.Read32(off)
	b.log = append(b.log, busEvent{op: 'R', off: off, val: v})
	return v
}

func (b *traceBus) Write32(off, v uint32) {
	b.log = append(b.log, busEvent{op: 'W', off: off, val: v})
	b.Model.Write32(off, v)
}

func (b *traceBus) sleep(d time.Duration) {
	b.log = append(b.log, busEvent{op: 'S', d: d})
	b.Model.Advance(d)
}

// checkResetSequence checks that log holds a global reset done in the
// manual's order: interrupts masked, receive and transmit disabled (or seen
// disabled), the
// writes flushed by a read of STATUS, a wait for DMA in flight (only if the
// device was running), CTRL.RST, a pause before the next access, RST seen
// clear, the EEPROM auto-read seen done (RAH0.AV) with nothing written to
// RAL0/RAH0 before that, and then causes masked and cleared.
func checkResetSequence(t *testing.T, what string, log []busEvent, running bool) {
	t.Helper()
	at := 0
	find := func(step string, match func(busEvent) bool) int {
		t.Helper()
		for i := at; i < len(log); i++ {
			if match(log[i]) {
				at = i + 1
				return i
			}
		}
		t.Fatalf("%s: no %s after event %d; the reset began %v", what, step, at, log[:min(len(log), 16)])
		return 0
	}
	write := func(off uint32, ok func(uint32) bool) func(busEvent) bool {
		return func(e busEvent) bool { return e.op == 'W' && e.off == off && ok(e.val) }
	}
	read := func(off uint32, ok func(uint32) bool) func(busEvent) bool {
		return func(e busEvent) bool { return e.op == 'R' && e.off == off && ok(e.val) }
	}
	anyVal := func(uint32) bool { return true }

	find("IMC of every cause", write(IMC, func(v uint32) bool { return v == ^uint32(0) }))
	quiesce := at
	// RCTL is written only if it must change (every write costs a second
	// of reception under QEMU): seen clear or cleared.
	find("RCTL.EN clear", func(e busEvent) bool { return e.off == RCTL && e.op != 'S' && e.val&RCTL_EN == 0 })
	rctl := at
	at = quiesce
	find("TCTL.EN cleared", write(TCTL, func(v uint32) bool { return v&TCTL_EN == 0 }))
	at = max(at, rctl)
	flush := find("STATUS read flushing them", read(STATUS, anyVal))
	rst := find("CTRL.RST set", write(CTRL, func(v uint32) bool { return v&CTRL_RST != 0 }))
	drained := slices.ContainsFunc(log[flush:rst], func(e busEvent) bool { return e.op == 'S' && e.d >= dmaDrainWait })
	if drained != running {
		t.Errorf("%s: waited for DMA to drain: %v, want %v (the device was running: %v)", what, drained, running, running)
	}
	if log[at].op != 'S' {
		t.Errorf("%s: %v right after CTRL.RST, want a pause", what, log[at])
	}
	find("CTRL.RST clear", read(CTRL, func(v uint32) bool { return v&CTRL_RST == 0 }))
	av := find("RAH0.AV set (auto-read done)", read(RAH0, func(v uint32) bool { return v&RAH_AV != 0 }))
	for _, e := range log[rst:av] {
		if e.op == 'W' && (e.off == RAL0 || e.off == RAH0) {
			t.Errorf("%s: %v before the EEPROM auto-read completed", what, e)
		}
	}
	find("IMC after the reset", write(IMC, func(v uint32) bool { return v == ^uint32(0) }))
	find("ICR read clearing latched causes", read(ICR, anyVal))
}

// TestResetSequence checks the register sequence of New's reset (a device
// fresh from power-on) and of Reset (a running device).
func TestResetSequence(t *testing.T) {
	m := model.New(model.Config{MAC: testMAC, ManualClock: true})
	t.Cleanup(m.Close)
	b := &traceBus{Model: m}
	d, err := New(b, m.DMA(), Config{Mitigation: &Mitigation{}, Sleep: b.sleep})
	if err != nil {
		t.Fatal(err)
	}
	checkResetSequence(t, "New", b.log, false)
	b.log = nil
	if err := d.Reset(); err != nil {
		t.Fatal(err)
	}
	checkResetSequence(t, "Reset", b.log, true)
}

// TestResetWaitsForEEPROMAutoRead: on a device whose EEPROM auto-read takes
// a while after CTRL.RST, the station address set before a reset is the
// one in force after it (programming RAL0/RAH0 before the auto-read
// completes would let the EEPROM's address overwrite it).
func TestResetWaitsForEEPROMAutoRead(t *testing.T) {
	r := newRigModel(t, model.Config{AutoReadDelay: 3 * time.Millisecond}, Config{})
	if got := r.d.MAC(); got != testMAC {
		t.Fatalf("MAC %x after New", got)
	}
	custom := [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x42}
	if err := r.d.SetMAC(custom); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Reset(); err != nil {
		t.Fatal(err)
	}
	r.m.Advance(time.Second) // whatever is still pending completes
	r.receive(frame(custom, 100, 1), frame(testMAC, 100, 2))
	r.drain()
	if len(r.rx) != 1 || r.rx[0][5] != custom[5] {
		t.Errorf("received %d frames; want only the one to %x (RAL0 %#x RAH0 %#x)",
			len(r.rx), custom, r.m.Read32(RAL0), r.m.Read32(RAH0))
	}
}

// stuckBus never lets a reset complete (CTRL.RST stays set) or never
// finishes the EEPROM auto-read (RAH0.AV stays clear), and adds up the time
// the driver sleeps.
type stuckBus struct {
	*model.Model
	rst, autoRead bool
	slept         time.Duration
}

func (b *stuckBus) Read32(off uint32) uint32 {
	v := b.Model.Read32(off)
	switch {
	case off == CTRL && b.rst:
		v |= CTRL_RST
	case off == RAH0 && b.autoRead:
		v &^= RAH_AV
	}
	return v
}

func (b *stuckBus) sleep(d time.Duration) { b.slept += d }

// TestResetTimeouts: a reset that never completes, or an auto-read that
// never does, fails with its named error after a bounded wait.
func TestResetTimeouts(t *testing.T) {
	for _, c := range []struct {
		name string
		bus  stuckBus
		want error
	}{
		{"CTRL.RST stuck", stuckBus{rst: true}, ErrResetTimeout},
		{"auto-read never done", stuckBus{autoRead: true}, ErrEEPROMTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.bus
			b.Model = model.New(model.Config{MAC: testMAC, ManualClock: true})
			_, err := New(&b, b.DMA(), Config{Sleep: b.sleep})
			if !errors.Is(err, c.want) {
				t.Fatalf("New: %v, want %v", err, c.want)
			}
			if bound := resetSettle + autoReadTimeout + resetPollPeriod; b.slept > bound {
				t.Errorf("waited %v before giving up, bound %v", b.slept, bound)
			}
			t.Logf("%v after %v", err, b.slept)
		})
	}
}

// TestBusyPollArmsNoRxInterrupts: in busy-poll mode only link changes may
// interrupt, after New and after a reset; frames are found by polling.
func TestBusyPollArmsNoRxInterrupts(t *testing.T) {
	r := newRig(t, Config{NAPI: napi.Config{Mode: napi.ModeBusyPoll}})
	for _, when := range []string{"New", "Reset"} {
		if when == "Reset" {
			if err := r.d.Reset(); err != nil {
				t.Fatal(err)
			}
		}
		if ims := r.m.Read32(IMS); ims != ICR_LSC {
			t.Errorf("after %s: IMS %#x, want LSC (%#x) only", when, ims, ICR_LSC)
		}
		irqs := r.irqs
		r.rx = nil
		r.receive(frame(testMAC, 100, 1))
		r.transmit(frame(peerMAC, 100, 2))
		if r.irqs != irqs {
			t.Errorf("after %s: %d interrupts for a frame each way", when, r.irqs-irqs)
		}
		r.d.NAPI().Step()
		if len(r.rx) != 1 {
			t.Errorf("after %s: the poll delivered %d frames, want 1", when, len(r.rx))
		}
	}
	r.links = nil
	r.m.SetLink(false)
	if len(r.links) != 1 || r.links[0] {
		t.Errorf("link upcalls %v after a cable pull: LSC must still interrupt", r.links)
	}
}

// TestResetCountsWhatTheDeviceCompleted: a reset accounts for every frame
// the device handled. Frames keep arriving before each register access the
// reset makes, until the receiver is off; transmitted frames have completed
// but wait to be reclaimed. Afterwards the frames the model wrote to the
// receive ring equal the driver's harvested descriptors (packets plus
// drops), the frames it put on the wire equal the driver's sent packets,
// and the statistics registers the reset clears were accumulated first
// (GPRC, GPTC).
func TestResetCountsWhatTheDeviceCompleted(t *testing.T) {
	r := newRig(t, Config{})
	r.receive(frame(testMAC, 100, 0), frame(testMAC, 100, 1))
	const sent = 3
	r.transmit(frame(peerMAC, 100, 10), frame(peerMAC, 100, 11), frame(peerMAC, 100, 12))
	seq, refused := uint32(100), 0
	r.bus.before = func(uint32) {
		if err := r.m.Receive(frame(testMAC, 100, seq)); err != nil {
			refused++
		}
		seq++
	}
	if err := r.d.Reset(); err != nil {
		t.Fatal(err)
	}
	r.bus.before = nil
	r.drain()
	r.d.UpdateStats()

	s, m := r.d.Stats(), r.m.Stats()
	t.Logf("%d frames offered during the reset, %d refused; rx %+v", seq-100, refused, s.RX)
	rxAccounted(t, s.RX)
	if s.RX.Descriptors != m.RxFrames {
		t.Errorf("the model wrote %d frames to the ring, the driver harvested %d descriptors", m.RxFrames, s.RX.Descriptors)
	}
	if s.HW.GoodPacketsRx != m.RxFrames {
		t.Errorf("GPRC adds up to %d, the model received %d frames", s.HW.GoodPacketsRx, m.RxFrames)
	}
	if s.TX.Packets != sent || s.TX.DropReset != 0 || s.TX.Queued != s.TX.Packets+s.TX.DropReset {
		t.Errorf("tx %d queued, %d sent, %d dropped by the reset: want all %d sent", s.TX.Queued, s.TX.Packets, s.TX.DropReset, sent)
	}
	if s.HW.GoodPacketsTx != m.TxFrames || m.TxFrames != sent {
		t.Errorf("GPTC adds up to %d, the model sent %d frames, want %d", s.HW.GoodPacketsTx, m.TxFrames, sent)
	}
	if refused == 0 {
		t.Error("no frame was refused: the reset never turned the receiver off")
	}
}
