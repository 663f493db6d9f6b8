package e1000

import (
	"errors"
	"slices"
	"testing"
	"time"

	"tamanet/devmodel/arena"
	"tamanet/e1000/model"
)

func TestInitSequence(t *testing.T) {
	r := newRig(t, Config{RxDescriptors: 64, TxDescriptors: 32})
	m, d := r.m, r.d
	if d.MAC() != testMAC {
		t.Errorf("MAC %s, want %s from the EEPROM", macString(d.MAC()), macString(testMAC))
	}
	if s := m.Stats(); s.EEPROMReads != 64 {
		t.Errorf("%d EEPROM reads, want 64 (checksum over words 0-0x3F)", s.EEPROMReads)
	}
	if !d.LinkUp() || d.MTU() != 1500 {
		t.Errorf("LinkUp %v MTU %d, want link up and 1500", d.LinkUp(), d.MTU())
	}
	want := map[uint32]uint32{
		RAL0:   0x12005452,
		RAH0:   0x5634 | RAH_AV,
		RDLEN:  64 * 16,
		RDH:    0,
		RDT:    63,
		TDLEN:  32 * 16,
		TDH:    0,
		TDT:    0,
		RCTL:   RCTL_EN | RCTL_BAM | RCTL_SECRC, // BSIZE 2048, RDMTS 1/2, MO 0 are zeros
		TCTL:   TCTL_EN | TCTL_PSP | 0x0F<<4 | 0x40<<12,
		TIPG:   10 | 8<<10 | 6<<20,
		RXCSUM: RXCSUM_IPOFLD | RXCSUM_TUOFLD,
		IMS:    ICR_RXT0 | ICR_RXO | ICR_RXDMT0 | ICR_LSC | ICR_TXDW,
		ITR:    0, RDTR: 0, RADV: 0, TIDV: 0, TADV: 0,
	}
	for off, v := range want {
		if got := m.Read32(off); got != v {
			t.Errorf("register %#x = %#x, want %#x", off, got, v)
		}
	}
	for i := range uint32(MTASize) {
		if v := m.Read32(MTA + 4*i); v != 0 {
			t.Errorf("MTA[%d] = %#x after init", i, v)
		}
	}
	if ctrl := m.Read32(CTRL); ctrl&CTRL_SLU == 0 || ctrl&(CTRL_RST|CTRL_PHY_RST) != 0 {
		t.Errorf("CTRL %#x: want SLU, no RST or PHY_RST", ctrl)
	}
	// The PHY is never touched (no auto-negotiation restart).
	if _, w := m.Accesses(0x0020); w != 0 {
		t.Errorf("%d MDIC writes, want none", w)
	}
	if s := m.Stats(); s.UnknownWrites != 0 || s.UnknownReads != 0 || s.RingErrors != 0 || s.Resets != 1 {
		t.Errorf("model stats %+v: want one reset and no unknown or bad accesses", s)
	}
	// Rings are 16-byte aligned and every receive buffer is posted.
	if d.rxRingBus%16 != 0 || d.txRingBus%16 != 0 {
		t.Errorf("ring bases %#x %#x not 16-byte aligned", d.rxRingBus, d.txRingBus)
	}
	for i := range 64 {
		desc := rxDescAt(d.rxRing, i)
		if a, st := leUint64(desc), desc[RXD_STATUS]; a != d.rxBufAddr(i) || st != 0 {
			t.Errorf("rx descriptor %d: addr %#x status %#x", i, a, st)
		}
	}
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func TestMitigationRegisters(t *testing.T) {
	r := newRig(t, Config{Mitigation: &Mitigation{
		ITR:  50 * time.Microsecond,  // 195 x 256 ns
		RDTR: 32 * time.Microsecond,  // 31 x 1.024 us
		RADV: 128 * time.Microsecond, // 125
		TIDV: 8 * time.Microsecond,   // 7
		TADV: time.Hour,              // capped at 0xFFFF
	}})
	for off, v := range map[uint32]uint32{ITR: 195, RDTR: 31, RADV: 125, TIDV: 7, TADV: 0xFFFF} {
		if got := r.m.Read32(off); got != v {
			t.Errorf("register %#x = %d, want %d", off, got, v)
		}
	}
	if r.d.txCmdIDE != TXD_CMD_IDE {
		t.Error("TIDV set but descriptors lack IDE")
	}
}

// faultyRegs wraps the model to make the device misbehave.
type faultyRegs struct {
	*model.Model
	stuckRST     bool  // CTRL.RST never clears
	eerdNoDone   bool  // EERD never reports DONE
	eerdCorrupt  uint8 // EEPROM word whose data is flipped (0 = none)
	eerdLastWord uint8
}

func (f *faultyRegs) Read32(off uint32) uint32 {
	v := f.Model.Read32(off)
	switch {
	case off == CTRL && f.stuckRST:
		v |= CTRL_RST
	case off == EERD && f.eerdNoDone:
		v &^= EERD_DONE
	case off == EERD && f.eerdCorrupt != 0 && uint8(v>>EERD_ADDR_SHIFT) == f.eerdCorrupt:
		v ^= 0x1 << EERD_DATA_SHIFT
	}
	return v
}

// failingDMA fails its n-th allocation (counting from 1).
type failingDMA struct {
	DMA
	n, calls int
}

func (f *failingDMA) Alloc(size, align int) ([]byte, uint64, error) {
	if f.calls++; f.calls == f.n {
		return nil, 0, arena.ErrInjected
	}
	return f.DMA.Alloc(size, align)
}

// misalignedDMA hands out memory 4 bytes past what was asked, like an
// allocator that ignores align.
type misalignedDMA struct{ DMA }

func (m misalignedDMA) Alloc(size, align int) ([]byte, uint64, error) {
	buf, bus, err := m.DMA.Alloc(size+4, align)
	if err != nil {
		return nil, 0, err
	}
	return buf[4:], bus + 4, nil
}

func TestNewErrors(t *testing.T) {
	newModel := func(mac [6]byte) *model.Model {
		m := model.New(model.Config{MAC: mac, ManualClock: true})
		t.Cleanup(m.Close)
		return m
	}
	for _, n := range []int{0 /* default */, 8, 4096} {
		if _, err := (Config{RxDescriptors: n}).withDefaults(); err != nil {
			t.Errorf("ring of %d refused: %v", n, err)
		}
	}
	for _, n := range []int{-8, 4, 12, 4104} {
		m := newModel(testMAC)
		if _, err := New(m, m.DMA(), Config{TxDescriptors: n}); !errors.Is(err, ErrConfig) {
			t.Errorf("ring of %d: err %v, want ErrConfig", n, err)
		}
	}
	for k := 1; k <= 4; k++ {
		m := newModel(testMAC)
		_, err := New(m, &failingDMA{DMA: m.DMA(), n: k}, Config{})
		if !errors.Is(err, arena.ErrInjected) {
			t.Errorf("allocation %d failing: err %v, want the allocator's error", k, err)
		}
	}
	m := newModel(testMAC)
	if _, err := New(m, misalignedDMA{m.DMA()}, Config{}); !errors.Is(err, ErrMisaligned) {
		t.Errorf("misaligned DMA memory: err %v, want ErrMisaligned", err)
	}
	m = newModel(testMAC)
	m.DMA().FailNext(1)
	if _, err := New(m, m.DMA(), Config{}); !errors.Is(err, arena.ErrInjected) {
		t.Errorf("arena FailNext: err %v", err)
	}
	cases := []struct {
		name string
		regs *faultyRegs
		mac  [6]byte
		want error
	}{
		{"reset stuck", &faultyRegs{stuckRST: true}, testMAC, ErrResetTimeout},
		{"EERD never done", &faultyRegs{eerdNoDone: true}, testMAC, ErrEEPROMTimeout},
		{"EEPROM checksum", &faultyRegs{eerdCorrupt: 0x20}, testMAC, ErrEEPROMChecksum},
		{"multicast MAC", &faultyRegs{}, [6]byte{0x01, 0, 0x5e, 0, 0, 1}, ErrBadMAC},
		{"zero MAC", &faultyRegs{}, [6]byte{}, ErrBadMAC},
	}
	for _, c := range cases {
		c.regs.Model = newModel(c.mac)
		if _, err := New(c.regs, c.regs.DMA(), Config{}); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
}

// QEMU's e1000 stops receiving for a second after every RCTL write, so the
// driver writes it once at bring-up and then only for real changes.
func TestRCTLWrittenOnce(t *testing.T) {
	var events []Event
	r := newRig(t, Config{Event: func(e Event) { events = append(events, e) }})
	writes := func() uint64 { _, w := r.m.Accesses(RCTL); return w }
	check := func(when string, want uint64) {
		t.Helper()
		if w, c := writes(), r.d.Stats().Device.RCTLWrites; w != want || c != want {
			t.Errorf("%s: %d RCTL writes (driver counted %d), want %d", when, w, c, want)
		}
	}
	check("after New", 1)
	if want := []Event{EventReset, EventRxEnabled}; !slices.Equal(events, want) {
		t.Errorf("events after New %v, want %v", events, want)
	}

	// Filters and the station address live in other registers.
	if err := r.d.AddMulticast(anotherGroup()); err != nil {
		t.Fatal(err)
	}
	if err := r.d.SetMAC(peerMAC); err != nil {
		t.Fatal(err)
	}
	r.d.SetPromiscuous(false)
	check("after filter changes that leave RCTL alone", 1)
	r.d.SetPromiscuous(true)
	r.d.SetPromiscuous(true)
	check("after turning promiscuous mode on twice", 2)
	if got := r.m.Read32(RCTL); got&(RCTL_UPE|RCTL_MPE) != RCTL_UPE|RCTL_MPE {
		t.Errorf("RCTL %#x: want UPE and MPE", got)
	}

	// The first frame is reported once.
	events = nil
	r.receive(frame(peerMAC, 60, 1))
	r.drain()
	r.receive(frame(peerMAC, 60, 2))
	r.drain()
	if want := []Event{EventFirstFrame}; !slices.Equal(events, want) {
		t.Errorf("events for two frames %v, want %v", events, want)
	}

	// A watchdog reset stops the receiver before resetting, then enables it.
	events = nil
	if err := r.d.Reset(); err != nil {
		t.Fatal(err)
	}
	check("after Reset", 4)
	if want := []Event{EventReset, EventRxEnabled}; !slices.Equal(events, want) {
		t.Errorf("events of Reset %v, want %v", events, want)
	}
}
