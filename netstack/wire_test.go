package netstack

import (
	"sync"
	"sync/atomic"

	"tamanet/txframe"
)

// fakeNIC is a test Driver: a small transmit ring drained by a "wire"
// goroutine that hands each frame to the peer's rx upcall, as the peer's
// poll loop would. It keeps the Driver contract strictly: Transmit copies
// and accepts only what fits, txReady follows a short Transmit once there is
// room, and the frame given to rx is a reused buffer that is scribbled over
// after the call, so an endpoint that keeps a reference sees garbage.
type fakeNIC struct {
	mac    [6]byte
	mtu    int
	csumOK bool
	peer   *fakeNIC

	mu       sync.Mutex
	slots    [][]byte
	lens     []int
	head, n  int
	wantWake bool
	stalled  bool
	rx       func([]byte, bool)
	link     func(bool)
	txReady  func()

	up    atomic.Bool
	kick  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	rxBuf []byte

	// wireLost and wireLostBytes count frames the wire dropped because
	// carrier was down or the peer's driver was not yet attached.
	wireLost, wireLostBytes atomic.Uint64
}

const fakeRing = 32

func newFakeNIC(last byte) *fakeNIC {
	f := &fakeNIC{
		mac:  [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, last},
		mtu:  1500,
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	frame := f.mtu + 14
	f.rxBuf = make([]byte, frame)
	f.slots = make([][]byte, fakeRing)
	f.lens = make([]int, fakeRing)
	for i := range f.slots {
		f.slots[i] = make([]byte, frame)
	}
	f.up.Store(true)
	return f
}

// newWire returns two connected fake NICs with their wires running.
func newWire() (a, b *fakeNIC) {
	a, b = newFakeNIC(1), newFakeNIC(2)
	a.peer, b.peer = b, a
	go a.wire()
	go b.wire()
	return a, b
}

func (f *fakeNIC) MTU() int       { return f.mtu }
func (f *fakeNIC) MAC() [6]byte   { return f.mac }
func (f *fakeNIC) LinkUp() bool   { return f.up.Load() }
func (f *fakeNIC) shutdown()      { close(f.stop); <-f.done }
func (f *fakeNIC) ringLen() int   { f.mu.Lock(); defer f.mu.Unlock(); return f.n }
func (f *fakeNIC) attached() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.rx != nil }

func (f *fakeNIC) Attach(rx func([]byte, bool), link func(bool), txReady func()) {
	f.mu.Lock()
	f.rx, f.link, f.txReady = rx, link, txReady
	f.mu.Unlock()
}

func (f *fakeNIC) TxCapabilities() txframe.Capabilities { return txframe.Capabilities{} }

func (f *fakeNIC) Transmit(frames []txframe.Frame) int {
	f.mu.Lock()
	accepted := 0
	for _, fr := range frames {
		if f.stalled || f.n == len(f.slots) {
			f.wantWake = true
			break
		}
		i := (f.head + f.n) % len(f.slots)
		n := 0
		for _, p := range fr.Parts {
			n += copy(f.slots[i][n:], p)
		}
		f.lens[i] = n
		f.n++
		accepted++
	}
	f.mu.Unlock()
	if accepted > 0 {
		select {
		case f.kick <- struct{}{}:
		default:
		}
	}
	return accepted
}

// setStalled makes Transmit accept nothing (true) or resume (false).
func (f *fakeNIC) setStalled(s bool) {
	f.mu.Lock()
	f.stalled = s
	wake := !s && f.wantWake
	if wake {
		f.wantWake = false
	}
	ready := f.txReady
	f.mu.Unlock()
	if wake && ready != nil {
		ready()
	}
}

// setLink changes carrier on both ends of the wire, as pulling or
// plugging the cable would, and tells both drivers' users.
func setLink(up bool, nics ...*fakeNIC) {
	for _, f := range nics {
		f.up.Store(up)
	}
	for _, f := range nics {
		f.mu.Lock()
		link := f.link
		f.mu.Unlock()
		if link != nil {
			link(up)
		}
	}
}

// wire moves frames from f's ring to the peer until stopped.
func (f *fakeNIC) wire() {
	defer close(f.done)
	for {
		select {
		case <-f.kick:
		case <-f.stop:
			return
		}
		for f.deliverOne() {
		}
	}
}

// deliverOne moves the oldest frame in f's ring to the peer's rx upcall and
// reports whether there was one.
func (f *fakeNIC) deliverOne() bool {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return false
	}
	n := copy(f.rxBuf, f.slots[f.head][:f.lens[f.head]])
	f.head = (f.head + 1) % len(f.slots)
	f.n--
	wake := f.wantWake && !f.stalled
	if wake {
		f.wantWake = false
	}
	ready := f.txReady
	f.mu.Unlock()

	f.peer.mu.Lock()
	rx := f.peer.rx
	f.peer.mu.Unlock()
	if f.up.Load() && f.peer.up.Load() && rx != nil {
		rx(f.rxBuf[:n], f.peer.csumOK)
	} else {
		f.wireLost.Add(1)
		f.wireLostBytes.Add(uint64(n))
	}
	for i := range f.rxBuf[:n] {
		f.rxBuf[i] = 0xA5
	}
	if wake && ready != nil {
		ready()
	}
	return true
}
