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
