package e1000

import (
	"bytes"
	"testing"
	"time"
)

var group = [6]byte{0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB}

// TestWatchdogReset wedges the transmitter, lets the watchdog notice after
// the timeout, and checks the reset keeps the station address and filters,
// drops and counts the stuck frames, blips the carrier, wakes the queue and
// leaves a working device.
func TestWatchdogReset(t *testing.T) {
	const ring = 16
	r := newRig(t, Config{TxDescriptors: ring, RxDescriptors: 32, TxTimeout: 2 * time.Second})
	newMAC := [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x42}
	if err := r.d.SetMAC(newMAC); err != nil {
		t.Fatal(err)
	}
	if err := r.d.AddMulticast(group); err != nil {
		t.Fatal(err)
	}
	r.d.SetPromiscuous(true)
	mta := r.m.Read32(MTA + 4*uint32(mtaHash(group)>>5))

	r.m.Write32(TCTL, 0) // the transmitter hangs
	var fs [][]byte
	for i := range 20 {
		fs = append(fs, frame(peerMAC, 100, uint32(i)))
	}
	queued := r.transmit(fs...) // fills the ring and stops the queue
	// Two frames wait in the receive ring when the reset comes.
	r.receive(frame(newMAC, 100, 1), frame(newMAC, 100, 2))

	step := func(d time.Duration) {
		r.now = r.now.Add(d)
		if err := r.d.Watchdog(); err != nil {
			t.Fatal(err)
		}
	}
	step(0)
	step(time.Second)
	if s := r.d.Stats().Device; s.TxTimeouts != 0 {
		t.Fatal("reset before the timeout")
	}
	r.links = nil
	step(time.Second) // 2 s without progress
	s := r.d.Stats()
	if s.Device.TxTimeouts != 1 || s.Device.Resets != 1 {
		t.Fatalf("device stats %+v", s.Device)
	}
	if s.TX.DropReset != uint64(queued) || s.RX.DropReset != 2 {
		t.Errorf("dropped tx %d (want %d) rx %d (want 2)", s.TX.DropReset, queued, s.RX.DropReset)
	}
	rxAccounted(t, s.RX)
	if len(r.links) != 2 || r.links[0] || !r.links[1] || !r.d.LinkUp() {
		t.Errorf("carrier upcalls %v, LinkUp %v: want a down/up blip", r.links, r.d.LinkUp())
	}
	if r.txReady != 1 {
		t.Errorf("txReady %d after reset, want 1", r.txReady)
	}
	if got := r.m.Read32(RAL0); got != 0x00000002 {
		t.Errorf("RAL0 %#x: station address not restored", got)
	}
	if got := r.m.Read32(RAH0); got != 0x4200|RAH_AV {
		t.Errorf("RAH0 %#x", got)
	}
	if got := r.m.Read32(MTA + 4*uint32(mtaHash(group)>>5)); got != mta {
		t.Errorf("MTA word %#x, want %#x", got, mta)
	}
	if r.m.Read32(RCTL)&(RCTL_UPE|RCTL_MPE) != RCTL_UPE|RCTL_MPE {
		t.Error("promiscuous mode lost")
	}

	// The device works again.
	r.wire, r.rx = nil, nil
	if n := r.transmit(fs[:3]...); n != 3 || len(r.wire) != 3 || !bytes.Equal(r.wire[0], fs[0]) {
		t.Fatalf("after reset: consumed %d, %d on the wire", n, len(r.wire))
	}
	r.receive(frame(newMAC, 100, 3))
	r.drain()
	if len(r.rx) != 1 {
		t.Errorf("delivered %d after reset", len(r.rx))
	}
	step(10 * time.Second)
	if s := r.d.Stats().Device; s.Resets != 1 {
		t.Errorf("healthy device reset again (%d resets)", s.Resets)
	}
}

// TestWatchdogProgress: slow but moving transmission is not a hang, and an
// interrupt that never came is covered by the watchdog's own reclaim.
func TestWatchdogProgress(t *testing.T) {
	r := newRig(t, Config{TxDescriptors: 16})
	r.m.Write32(IMC, ^uint32(0)) // lose every interrupt from now on
	for i := range 10 {
		r.transmit(frame(peerMAC, 100, uint32(i)))
		r.now = r.now.Add(time.Second)
		if err := r.d.Watchdog(); err != nil {
			t.Fatal(err)
		}
	}
	s := r.d.Stats()
	if s.Device.Resets != 0 || s.TX.Packets != 10 {
		t.Errorf("resets %d, reclaimed %d of 10", s.Device.Resets, s.TX.Packets)
	}
	// Hardware counters are accumulated by the watchdog.
	if s.HW.GoodPacketsTx != 10 || s.HW.GoodOctetsTx != 10*(100+4) {
		t.Errorf("HW GPTC %d GOTC %d", s.HW.GoodPacketsTx, s.HW.GoodOctetsTx)
	}
}

func TestResetFailure(t *testing.T) {
	r := newRig(t, Config{})
	f := &faultyRegs{Model: r.m, stuckRST: true}
	r.d.regs = f
	if err := r.d.Reset(); err == nil {
		t.Fatal("Reset succeeded with RST stuck")
	}
	if r.d.LinkUp() {
		t.Error("carrier up after a failed reset")
	}
	if n := r.transmit(frame(peerMAC, 100, 1)); n != 1 || r.d.Stats().TX.DropNoCarrier != 1 {
		t.Error("Transmit after a failed reset should drop and count")
	}
	f.stuckRST = false
	if err := r.d.Reset(); err != nil || !r.d.LinkUp() {
		t.Errorf("second reset: %v, LinkUp %v", err, r.d.LinkUp())
	}
}
