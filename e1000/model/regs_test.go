package model

import (
	"testing"
	"time"
)

// TestRegisterOffsets pins the offsets and bits against the manual (and the
// list in DESIGN.md), so a typo in regs.go cannot hide behind a test that
// uses the same constant on both sides.
func TestRegisterOffsets(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint32
	}{
		{"CTRL", CTRL, 0x0000}, {"STATUS", STATUS, 0x0008}, {"EERD", EERD, 0x0014},
		{"ICR", ICR, 0x00C0}, {"ITR", ITR, 0x00C4}, {"ICS", ICS, 0x00C8},
		{"IMS", IMS, 0x00D0}, {"IMC", IMC, 0x00D8}, {"RCTL", RCTL, 0x0100},
		{"TCTL", TCTL, 0x0400}, {"TIPG", TIPG, 0x0410},
		{"RDBAL", RDBAL, 0x2800}, {"RDBAH", RDBAH, 0x2804}, {"RDLEN", RDLEN, 0x2808},
		{"RDH", RDH, 0x2810}, {"RDT", RDT, 0x2818}, {"RDTR", RDTR, 0x2820}, {"RADV", RADV, 0x282C},
		{"TDBAL", TDBAL, 0x3800}, {"TDBAH", TDBAH, 0x3804}, {"TDLEN", TDLEN, 0x3808},
		{"TDH", TDH, 0x3810}, {"TDT", TDT, 0x3818}, {"TIDV", TIDV, 0x3820}, {"TADV", TADV, 0x382C},
		{"RXCSUM", RXCSUM, 0x5000}, {"MTA", MTA, 0x5200},
		{"RAL(0)", RAL(0), 0x5400}, {"RAH(0)", RAH(0), 0x5404}, {"RAL(15)", RAL(15), 0x5478},
		{"CRCERRS", CRCERRS, 0x4000}, {"MPC", MPC, 0x4010}, {"GPRC", GPRC, 0x4074},
		{"GPTC", GPTC, 0x4080}, {"GORCL", GORCL, 0x4088}, {"GOTCL", GOTCL, 0x4090},
		{"RNBC", RNBC, 0x40A0}, {"TPR", TPR, 0x40D0}, {"TPT", TPT, 0x40D4},
		{"ICR_TXDW", ICR_TXDW, 1 << 0}, {"ICR_TXQE", ICR_TXQE, 1 << 1}, {"ICR_LSC", ICR_LSC, 1 << 2},
		{"ICR_RXSEQ", ICR_RXSEQ, 1 << 3}, {"ICR_RXDMT0", ICR_RXDMT0, 1 << 4},
		{"ICR_RXO", ICR_RXO, 1 << 6}, {"ICR_RXT0", ICR_RXT0, 1 << 7},
		{"CTRL_SLU", CTRL_SLU, 1 << 6}, {"CTRL_RST", CTRL_RST, 1 << 26}, {"CTRL_PHY_RST", CTRL_PHY_RST, 1 << 31},
		{"RCTL_EN", RCTL_EN, 1 << 1}, {"RCTL_UPE", RCTL_UPE, 1 << 3}, {"RCTL_MPE", RCTL_MPE, 1 << 4},
		{"RCTL_LPE", RCTL_LPE, 1 << 5}, {"RCTL_BAM", RCTL_BAM, 1 << 15}, {"RCTL_BSEX", RCTL_BSEX, 1 << 25},
		{"RCTL_SECRC", RCTL_SECRC, 1 << 26}, {"TCTL_EN", TCTL_EN, 1 << 1}, {"TCTL_PSP", TCTL_PSP, 1 << 3},
		{"RAH_AV", RAH_AV, 1 << 31},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestStatusAndLinkNeedSLU(t *testing.T) {
	m := newManual(t)
	calls, causes := countIRQ(m)
	m.Write32(IMS, ICR_LSC)

	// FD (bit 0) and SPEED = 10b (bits 7:6) for 1000 Mb/s; LU (bit 1)
	// clear until software sets CTRL.SLU (8.6.2.1).
	if got := m.Read32(STATUS); got != 0x81 {
		t.Fatalf("STATUS after reset = %#x, want 0x81", got)
	}
	m.Write32(CTRL, CTRL_SLU)
	if got := m.Read32(STATUS); got != 0x83 {
		t.Fatalf("STATUS with SLU = %#x, want 0x83", got)
	}
	if *calls != 1 || *causes&ICR_LSC == 0 {
		t.Fatalf("link up: %d IRQs, causes %#x; want 1 with LSC", *calls, *causes)
	}
	m.SetLink(false)
	if got := m.Read32(STATUS) & STATUS_LU; got != 0 {
		t.Fatalf("STATUS.LU = 1 with the cable pulled")
	}
	m.SetLink(false) // no change, no interrupt
	m.SetLink(true)
	if *calls != 3 {
		t.Fatalf("IRQs after down+up = %d, want 3", *calls)
	}
}

func TestResetRestoresDefaults(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 8, 2048, RCTL_EN|RCTL_BAM|RCTL_SECRC)
	setupTx(t, m, 8, TCTL_EN|TCTL_PSP)
	m.Write32(IMS, ICR_RXT0|ICR_LSC)
	m.Write32(ITR, 500)
	m.Write32(RDTR, 100)
	m.Write32(MTA+4*5, 0xDEADBEEF)
	m.Write32(RAL(1), 0x01020304)
	m.Write32(RAH(1), 0x80000506)
	m.Write32(RXCSUM, RXCSUM_IPOFLD)
	if err := m.Receive(ethFrame(broadcastMAC, testMAC, 0x0800, bytesOf(50, 1))); err != nil {
		t.Fatal(err)
	}
	m.Write32(ICS, ICR_TXDW)
	if r.desc(0).status&1 == 0 {
		t.Fatal("setup: frame not received")
	}

	m.Write32(CTRL, CTRL_SLU|CTRL_RST)

	for _, c := range []struct {
		name      string
		off, want uint32
	}{
		{"CTRL (RST self-clears, SLU reset)", CTRL, 0},
		{"STATUS", STATUS, 0x81},
		{"IMS", IMS, 0}, {"ICR", ICR, 0}, {"ITR", ITR, 0},
		{"RCTL", RCTL, 0}, {"TCTL", TCTL, 0}, {"RDTR", RDTR, 0},
		{"RDBAL", RDBAL, 0}, {"RDLEN", RDLEN, 0}, {"RDH", RDH, 0}, {"RDT", RDT, 0},
		{"TDBAL", TDBAL, 0}, {"TDLEN", TDLEN, 0}, {"TDH", TDH, 0}, {"TDT", TDT, 0},
		{"RXCSUM", RXCSUM, 0}, {"MTA[5]", MTA + 4*5, 0},
		{"RAL1", RAL(1), 0}, {"RAH1", RAH(1), 0},
		{"RAL0 (from EEPROM)", RAL(0), 0x12005452}, {"RAH0", RAH(0), 0x80005634},
		{"GPRC", GPRC, 0}, {"TPR", TPR, 0},
	} {
		if got := m.Read32(c.off); got != c.want {
			t.Errorf("after reset %s = %#x, want %#x", c.name, got, c.want)
		}
	}
	if m.IRQAsserted() {
		t.Error("INTx still asserted after reset")
	}
	if got := m.EEPROMWord(0); got != 0x5452 {
		t.Errorf("EEPROM word 0 = %#x after reset, want it kept", got)
	}
	if got := m.Stats().Resets; got != 1 {
		t.Errorf("Stats().Resets = %d, want 1", got)
	}
	// A pending mitigation timer is gone too.
	m.Advance(time.Second)
	if m.Read32(ICR) != 0 {
		t.Error("a timer armed before reset fired after it")
	}
}

// TestAutoReadDelay: with Config.AutoReadDelay, RAL0/RAH0 read zero after
// a reset until the EEPROM auto-read completes, which then overwrites what
// software wrote there meanwhile.
func TestAutoReadDelay(t *testing.T) {
	m := New(Config{MAC: testMAC, ManualClock: true, AutoReadDelay: 5 * time.Millisecond})
	t.Cleanup(m.Close)
	ral0, rah0 := uint32(0x12005452), uint32(0x80005634) // testMAC, AV
	if m.Read32(RAL(0)) != ral0 || m.Read32(RAH(0)) != rah0 {
		t.Fatal("power-on: RAL0/RAH0 not loaded before the first access")
	}
	m.Write32(CTRL, CTRL_RST)
	if m.Read32(RAL(0)) != 0 || m.Read32(RAH(0)) != 0 {
		t.Errorf("right after reset: RAL0 %#x RAH0 %#x, want 0 until the auto-read", m.Read32(RAL(0)), m.Read32(RAH(0)))
	}
	m.Write32(RAL(0), 0x01020304)
	m.Write32(RAH(0), 0x80000506)
	m.Advance(4 * time.Millisecond)
	if m.Read32(RAL(0)) != 0x01020304 {
		t.Error("auto-read completed early")
	}
	m.Advance(time.Millisecond)
	if got, goth := m.Read32(RAL(0)), m.Read32(RAH(0)); got != ral0 || goth != rah0 {
		t.Errorf("after the auto-read: RAL0 %#x RAH0 %#x, want %#x %#x from the EEPROM", got, goth, ral0, rah0)
	}
}

func TestUnknownOffsets(t *testing.T) {
	m := newManual(t)
	for _, off := range []uint32{0x000C, 0x1234, 0x6000, BAR0Size, 0x0101} {
		if got := m.Read32(off); got != 0 {
			t.Errorf("Read32(%#x) = %#x, want 0", off, got)
		}
		m.Write32(off, 0xFFFFFFFF)
		if got := m.Read32(off); got != 0 {
			t.Errorf("Read32(%#x) after write = %#x, want 0", off, got)
		}
	}
	st := m.Stats()
	if st.UnknownReads != 10 || st.UnknownWrites != 5 {
		t.Errorf("UnknownReads/Writes = %d/%d, want 10/5", st.UnknownReads, st.UnknownWrites)
	}
	m.Write32(TIPG, 0x0060200A) // stored without behaviour, not unknown
	if got := m.Read32(TIPG); got != 0x0060200A {
		t.Errorf("TIPG = %#x", got)
	}
	if got := m.Stats().UnknownWrites; got != 5 {
		t.Errorf("TIPG write counted as unknown")
	}
}

func TestAccessCounts(t *testing.T) {
	m := newManual(t)
	for i := range 3 {
		m.Write32(RDT, uint32(i))
	}
	m.Read32(ICR)
	if r, w := m.Accesses(RDT); r != 0 || w != 3 {
		t.Errorf("Accesses(RDT) = %d reads, %d writes; want 0, 3", r, w)
	}
	st := m.Stats()
	if st.RDTWrites != 3 || st.ICRReads != 1 || st.RegWrites != 3 || st.RegReads != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestMDICReadsPHY(t *testing.T) {
	m := newManual(t)
	read := func(reg uint32) uint32 {
		m.Write32(MDIC, 2<<26|1<<21|reg<<16) // op read, PHY address 1
		v := m.Read32(MDIC)
		if v&(1<<28) == 0 || v&(1<<30) != 0 {
			t.Fatalf("MDIC read of reg %d: %#x (want R set, E clear)", reg, v)
		}
		return v & 0xFFFF
	}
	if id := read(2)<<16 | read(3); id != 0x01410C20 {
		t.Errorf("PHY ID = %#x", id)
	}
	if read(1)&(1<<2) == 0 {
		t.Error("PHY status: link bit clear with the cable in")
	}
	m.SetLink(false)
	if read(1)&(1<<2) != 0 {
		t.Error("PHY status: link bit set with the cable pulled")
	}
	m.Write32(MDIC, 2<<26|2<<21|1<<16) // PHY address 2 does not exist
	if v := m.Read32(MDIC); v&(1<<30) == 0 {
		t.Errorf("MDIC to PHY 2: E clear (%#x)", v)
	}
}
