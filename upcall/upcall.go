// Package upcall holds what a NIC driver calls up into the stack above it:
// the callbacks netif registers through the driver's Attach and
// OnRxBatchEnd. Both drivers (e1000, virtio-net) keep them in a Set and
// read them without locks from the poll loop and the interrupt path.
package upcall

import "sync/atomic"

// Funcs are the callbacks of one Attach, replaced as a unit. Any may be
// nil.
type Funcs struct {
	// RX takes a received frame, valid only during the call; csumOK
	// says the device verified its checksums.
	RX func(frame []byte, csumOK bool)
	// Link reports a carrier change.
	Link func(up bool)
	// TxReady says a transmit queue that turned frames away has room.
	TxReady func()
}

// Set is a driver's upcalls. The zero value has none.
type Set struct {
	funcs    atomic.Pointer[Funcs]
	batchEnd atomic.Pointer[func()]
}

var none Funcs

// Attach replaces the callbacks.
func (s *Set) Attach(rx func(frame []byte, csumOK bool), link func(up bool), txReady func()) {
	s.funcs.Store(&Funcs{RX: rx, Link: link, TxReady: txReady})
}

// Funcs returns the callbacks attached last; never nil.
func (s *Set) Funcs() *Funcs {
	if f := s.funcs.Load(); f != nil {
		return f
	}
	return &none
}

// OnRxBatchEnd registers f, called after each poll that delivered frames.
func (s *Set) OnRxBatchEnd(f func()) { s.batchEnd.Store(&f) }

// BatchEnd returns the function OnRxBatchEnd registered, nil if none.
func (s *Set) BatchEnd() func() {
	if f := s.batchEnd.Load(); f != nil {
		return *f
	}
	return nil
}

// TxReady calls the TxReady callback, if one is attached.
func (s *Set) TxReady() {
	if f := s.Funcs().TxReady; f != nil {
		f()
	}
}

// Link calls the Link callback with up, if one is attached.
func (s *Set) Link(up bool) {
	if f := s.Funcs().Link; f != nil {
		f(up)
	}
}
