package pktgen

import (
	"testing"

	"tamanet/txframe"
)

// upcalls is a driver that only records the upcalls it is given.
type upcalls struct {
	rx func([]byte, bool)
}

func (*upcalls) MTU() int                             { return 1500 }
func (*upcalls) MAC() [6]byte                         { return [6]byte{2} }
func (*upcalls) LinkUp() bool                         { return true }
func (*upcalls) Transmit(f []txframe.Frame) int       { return len(f) }
func (*upcalls) TxCapabilities() txframe.Capabilities { return txframe.Capabilities{} }
func (u *upcalls) Attach(rx func([]byte, bool), _ func(bool), _ func()) {
	u.rx = rx
}

// The receive upcall allocates nothing, for frames or for markers.
func TestSinkReceiveAllocs(t *testing.T) {
	u := &upcalls{}
	New(u, nil)
	frame := make([]byte, 60)
	marker := make([]byte, 60)
	marker[12], marker[13] = MarkerEtherType>>8, MarkerEtherType&0xFF
	copy(marker[14:], MarkerText)
	if a := testing.AllocsPerRun(1000, func() { u.rx(frame, false) }); a > 0 {
		t.Errorf("%v allocations per frame", a)
	}
	if a := testing.AllocsPerRun(1000, func() { u.rx(marker, false) }); a > 0 {
		t.Errorf("%v allocations per marker", a)
	}
}

func TestIsMarker(t *testing.T) {
	marker := func(n int, etherType uint16, text string) []byte {
		f := make([]byte, n)
		f[12], f[13] = byte(etherType>>8), byte(etherType)
		copy(f[14:], text)
		return f
	}
	for _, tc := range []struct {
		frame []byte
		want  bool
	}{
		{marker(60, MarkerEtherType, MarkerText), true},
		{marker(30, MarkerEtherType, MarkerText), true}, // no padding
		{marker(60, MarkerEtherType, MarkerText+" and more"), true},
		{marker(29, MarkerEtherType, MarkerText[:15]), false},
		{marker(60, 0x0800, MarkerText), false},
		{marker(60, MarkerEtherType, "TAMANET-SINK-EN"), false},
		{marker(14, MarkerEtherType, ""), false},
		{nil, false},
	} {
		if got := IsMarker(tc.frame); got != tc.want {
			t.Errorf("IsMarker(% x) = %v", tc.frame, got)
		}
	}
}
