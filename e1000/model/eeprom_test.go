package model

import "testing"

// eerdRead reads one EEPROM word through EERD (13.4.4): START is bit 0, the
// address bits 15:8, DONE bit 4 and the data bits 31:16.
func eerdRead(t *testing.T, m *Model, addr uint32) uint16 {
	t.Helper()
	m.Write32(EERD, addr<<8|1)
	v := m.Read32(EERD)
	if v&(1<<4) == 0 {
		t.Fatalf("EERD word %#x: DONE clear, EERD=%#x", addr, v)
	}
	if got := v >> 8 & 0xFF; got != addr {
		t.Fatalf("EERD word %#x: address field reads %#x", addr, got)
	}
	return uint16(v >> 16)
}

func TestEEPROMHoldsMAC(t *testing.T) {
	m := newManual(t)
	want := []uint16{0x5452, 0x1200, 0x5634} // 52:54:00:12:34:56, low byte first
	for i, w := range want {
		if got := eerdRead(t, m, uint32(i)); got != w {
			t.Errorf("word %d = %#04x, want %#04x", i, got, w)
		}
	}
}

func TestEEPROMChecksumIsBABA(t *testing.T) {
	for _, mac := range [][6]byte{testMAC, {}, broadcastMAC, {0x00, 0x1B, 0x21, 0xAB, 0xCD, 0xEF}} {
		m := New(Config{MAC: mac, ManualClock: true, MemSize: 4096})
		var sum uint16
		for w := uint32(0); w <= 0x3F; w++ {
			sum += eerdRead(t, m, w)
		}
		if sum != 0xBABA {
			t.Errorf("MAC %x: words 00h-3Fh sum to %#04x, want 0xBABA", mac, sum)
		}
	}
}

func TestEEPROMOtherWords(t *testing.T) {
	m := newManual(t)
	if got := eerdRead(t, m, 0x0D); got != 0x100E {
		t.Errorf("device ID word = %#04x, want 0x100E", got)
	}
	if got := eerdRead(t, m, 0x0E); got != 0x8086 {
		t.Errorf("vendor ID word = %#04x, want 0x8086", got)
	}
	if got := eerdRead(t, m, 0x40); got != 0xFFFF {
		t.Errorf("word 0x40 (past the 64-word part) = %#04x, want 0xFFFF", got)
	}
	m.Write32(EERD, 5<<8) // no START: nothing is read
	if v := m.Read32(EERD); v&(1<<4) != 0 {
		t.Errorf("EERD without START reads %#x: DONE set", v)
	}
	if got := m.Stats().EEPROMReads; got != 3 {
		t.Errorf("EEPROMReads = %d, want 3", got)
	}
}

func TestRAL0LoadedFromEEPROM(t *testing.T) {
	m := newManual(t)
	if got := m.Read32(RAL(0)); got != 0x12005452 {
		t.Errorf("RAL0 = %#08x, want 0x12005452", got)
	}
	if got := m.Read32(RAH(0)); got != 0x80005634 {
		t.Errorf("RAH0 = %#08x, want 0x80005634 (AV set)", got)
	}
}
