package netstack

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// TestAgedRA: every lifetime of a kept advertisement is shortened by its
// age (rounded up), none below 0, and infinite ones stay infinite.
func TestAgedRA(t *testing.T) {
	frame := routerAdvert(raPrefix)
	msg := frame[header.EthernetMinimumSize+header.IPv6MinimumSize:]
	u16 := func(b []byte, off int) uint32 { return uint32(binary.BigEndian.Uint16(b[off:])) }
	u32 := func(b []byte, off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
	// Offsets in msg: router lifetime, then the prefix option's valid
	// and preferred lifetimes (after 8 bytes of source link-layer
	// address option).
	const rl, valid, preferred = 6, 24 + 4, 24 + 8
	for _, tc := range []struct {
		age                 time.Duration
		router, valid, pref uint32
	}{
		{0, 1800, 86400, 14400},
		{1500 * time.Millisecond, 1798, 86398, 14398},
		{time.Hour, 0, 86400 - 3600, 14400 - 3600},
		{48 * time.Hour, 0, 0, 0},
	} {
		b := agedRA(msg, tc.age)
		if r, v, p := u16(b, rl), u32(b, valid), u32(b, preferred); r != tc.router || v != tc.valid || p != tc.pref {
			t.Errorf("aged %v: router %d, valid %d, preferred %d; want %d, %d, %d", tc.age, r, v, p, tc.router, tc.valid, tc.pref)
		}
	}
	if u16(msg, rl) != 1800 {
		t.Error("agedRA changed its argument")
	}
	inf := agedRA(msg, 0)
	binary.BigEndian.PutUint32(inf[valid:], math.MaxUint32)
	if v := u32(agedRA(inf, time.Hour), valid); v != math.MaxUint32 {
		t.Errorf("infinite valid lifetime aged to %d", v)
	}
}
