package model

import "testing"

// received sends a frame to dst and reports whether it reached the ring
// (and with which status); filtered frames must return nil.
func received(t *testing.T, m *Model, r *rxRing, dst [6]byte) (bool, uint8) {
	t.Helper()
	rdh := m.Read32(RDH)
	if err := m.Receive(ethFrame(dst, [6]byte{2, 0, 0, 0, 0, 9}, 0x88B5, make([]byte, 46))); err != nil {
		t.Fatalf("dst %x: filtered frames must not be errors: %v", dst, err)
	}
	if m.Read32(RDH) == rdh {
		return false, 0
	}
	return true, r.desc(int(rdh)).status
}

func TestFilterUnicast(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 32, 2048, RCTL_EN|RCTL_SECRC)
	other := [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x57}

	if ok, st := received(t, m, r, testMAC); !ok || st&sPIF != 0 {
		t.Errorf("own address (RAL0 from EEPROM): received %t, status %#x", ok, st)
	}
	if ok, _ := received(t, m, r, other); ok {
		t.Error("other unicast address accepted")
	}
	if got := m.Stats().RxFiltered; got != 1 {
		t.Errorf("RxFiltered = %d", got)
	}
	if got := m.Read32(GPRC); got != 1 {
		t.Errorf("GPRC = %d: filtered frames are not counted", got)
	}

	// RAL/RAH 3 without AV does not match; with AV it does.
	m.Write32(RAL(3), 0x12005452)
	m.Write32(RAH(3), 0x5734)
	if ok, _ := received(t, m, r, other); ok {
		t.Error("entry without AV matched")
	}
	m.Write32(RAH(3), 0x80005734)
	if ok, st := received(t, m, r, other); !ok || st&sPIF != 0 {
		t.Errorf("entry with AV: received %t, status %#x", ok, st)
	}
	// AS = 01b selects the source address: not a destination filter.
	m.Write32(RAH(3), 0x80015734)
	if ok, _ := received(t, m, r, other); ok {
		t.Error("source-address entry matched a destination")
	}

	m.Write32(RCTL, RCTL_EN|RCTL_SECRC|RCTL_UPE)
	if ok, st := received(t, m, r, other); !ok || st&sPIF == 0 {
		t.Errorf("UPE: received %t, status %#x (want PIF)", ok, st)
	}
}

func TestFilterBroadcast(t *testing.T) {
	m := newManual(t)
	r := setupRx(t, m, 32, 2048, RCTL_EN|RCTL_SECRC)
	if ok, _ := received(t, m, r, broadcastMAC); ok {
		t.Error("broadcast accepted without BAM")
	}
	m.Write32(RCTL, RCTL_EN|RCTL_SECRC|RCTL_BAM)
	if ok, st := received(t, m, r, broadcastMAC); !ok || st&sPIF != 0 {
		t.Errorf("broadcast with BAM: received %t, status %#x", ok, st)
	}
	if got := m.Read32(BPRC); got != 1 {
		t.Errorf("BPRC = %d", got)
	}
	if got := m.Read32(MPRC); got != 0 {
		t.Errorf("MPRC = %d: broadcast is not counted as multicast", got)
	}
}

// TestMTAHashManualExample uses the manual's own example (13.5.1, Figure
// 13-2): an address xx:xx:xx:xx:9x:BCh, with MO = 00b, hashes to bit 9 of
// MTA row 94.
func TestMTAHashManualExample(t *testing.T) {
	addr := [6]byte{0x01, 0x00, 0x5E, 0x00, 0x95, 0xBC}
	if h := MTAHash(addr, 0); h>>5 != 94 || h&31 != 9 {
		t.Fatalf("hash %#x: row %d bit %d, want row 94 bit 9", h, h>>5, h&31)
	}
	// As a 48-bit value (byte 0 lowest) the address is 0xBC95005E0001; the
	// four MO settings take bits 47:36, 46:35, 45:34 and 43:32.
	for mo, want := range []uint16{0xBC9, 0x792, 0xF25, 0xC95} {
		if h := MTAHash(addr, uint32(mo)); h != want {
			t.Errorf("MO=%d: hash %#x, want %#x", mo, h, want)
		}
	}

	m := newManual(t)
	r := setupRx(t, m, 32, 2048, RCTL_EN|RCTL_SECRC)
	if ok, _ := received(t, m, r, addr); ok {
		t.Error("multicast accepted with an empty MTA")
	}
	m.Write32(MTA+4*94, 1<<8) // the neighbouring bit
	if ok, _ := received(t, m, r, addr); ok {
		t.Error("multicast accepted on the wrong MTA bit")
	}
	m.Write32(MTA+4*94, 1<<9)
	if ok, st := received(t, m, r, addr); !ok || st&sPIF == 0 {
		t.Errorf("MTA[94] bit 9 set: received %t, status %#x (want PIF)", ok, st)
	}
	if got := m.Read32(MPRC); got != 1 {
		t.Errorf("MPRC = %d", got)
	}
	// MO = 01b moves the hash to 0x792: row 60, bit 18.
	m.Write32(RCTL, RCTL_EN|RCTL_SECRC|1<<12)
	if ok, _ := received(t, m, r, addr); ok {
		t.Error("MO=01b still used bits 47:36")
	}
	m.Write32(MTA+4*60, 1<<18)
	if ok, _ := received(t, m, r, addr); !ok {
		t.Error("MO=01b: MTA[60] bit 18 did not match")
	}
}

// TestMTAHashMDNS computes the bit for a well-known group by the manual's
// formula: 01:00:5E:00:00:FB has bits 47:36 = FBh<<4 | 00h>>4 = FB0h, so
// row FB0h>>5 = 125, bit FB0h&1Fh = 16.
func TestMTAHashMDNS(t *testing.T) {
	mdns := [6]byte{0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB}
	m := newManual(t)
	r := setupRx(t, m, 32, 2048, RCTL_EN|RCTL_SECRC)
	m.Write32(MTA+4*125, 1<<16)
	if ok, _ := received(t, m, r, mdns); !ok {
		t.Error("mDNS group not accepted with MTA[125] bit 16")
	}
	m.Write32(MTA+4*125, 0)
	m.Write32(RCTL, RCTL_EN|RCTL_SECRC|RCTL_MPE)
	if ok, st := received(t, m, r, mdns); !ok || st&sPIF == 0 {
		t.Errorf("MPE: received %t, status %#x", ok, st)
	}
	if ok, _ := received(t, m, r, [6]byte{0x52, 0, 0, 0, 0, 1}); ok {
		t.Error("MPE accepted a foreign unicast")
	}
}
