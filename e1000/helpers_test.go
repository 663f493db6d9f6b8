package e1000

import (
	"cmp"
	"encoding/binary"
	"testing"
	"time"

	"tamanet/e1000/model"
	"tamanet/inet"
	"tamanet/napi"
	"tamanet/txframe"
)

var (
	testMAC   = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	peerMAC   = [6]byte{0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC}
	broadcast = [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
)

// rig is the driver attached to a model with a manual clock, driven from
// the test goroutine: interrupts arrive synchronously from the model and the
// test runs the poll engine with drain.
type rig struct {
	t   testing.TB
	m   *model.Model
	bus *hookBus // the model as the driver reaches it
	d   *Device
	now time.Time // the driver's clock

	rx      [][]byte // copies of delivered frames
	csum    []bool
	links   []bool
	txReady int
	wire    [][]byte // copies of transmitted frames
	irqs    int      // HandleInterrupt calls
	keepRx  bool     // copy delivered frames into rx
}

// newRig builds a model and a driver. Unless cfg says otherwise, moderation
// is off so that every interrupt happens at once under the manual clock,
// and the driver's sleeps move the model's clock.
func newRig(t testing.TB, cfg Config) *rig {
	t.Helper()
	return newRigModel(t, model.Config{}, cfg)
}

// newRigModel is newRig with model options (MAC, MemSize and ManualClock
// are the rig's).
func newRigModel(t testing.TB, mcfg model.Config, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, now: time.Unix(1000, 0), keepRx: true}
	// Just enough DMA memory for the rings and buffers, so that using more
	// after New would fail.
	nrx, ntx := cmp.Or(cfg.RxDescriptors, DefaultRxDescriptors), cmp.Or(cfg.TxDescriptors, DefaultTxDescriptors)
	mcfg.MAC, mcfg.ManualClock = testMAC, true
	rxBuf, _, _ := rxBuffers(cmp.Or(cfg.MTU, MTU))
	mcfg.MemSize = nrx*(RxDescSize+rxBuf) + ntx*(TxDescSize+txBufferSize) + 4*descAlign
	r.m = model.New(mcfg)
	t.Cleanup(r.m.Close)
	if cfg.Mitigation == nil {
		cfg.Mitigation = &Mitigation{}
	}
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return r.now }
	}
	if cfg.Sleep == nil {
		cfg.Sleep = r.m.Advance
	}
	r.m.SetIRQHandler(func() {
		if r.d != nil {
			r.irqs++
			r.d.HandleInterrupt()
		}
	})
	r.m.SetTransmitHandler(func(f []byte) { r.wire = append(r.wire, append([]byte(nil), f...)) })
	r.bus = &hookBus{Model: r.m}
	d, err := New(r.bus, r.m.DMA(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.d = d
	d.Attach(r.onRx, func(up bool) { r.links = append(r.links, up) }, func() { r.txReady++ })
	// An edge raised inside New found no handler; the line is level.
	if r.m.IRQAsserted() {
		r.irqs++
		d.HandleInterrupt()
	}
	return r
}

// hookBus is the model's registers with a hook: before, if set, runs ahead
// of every register access the driver makes (not re-entered from inside
// itself), so a test can act at any point of a driver operation.
type hookBus struct {
	*model.Model
	before func(off uint32)
	in     bool
}

func (b *hookBus) hook(off uint32) {
	if b.before != nil && !b.in {
		b.in = true
		defer func() { b.in = false }()
		b.before(off)
	}
}

func (b *hookBus) Read32(off uint32) uint32 {
	b.hook(off)
	return b.Model.Read32(off)
}

func (b *hookBus) Write32(off, v uint32) {
	b.hook(off)
	b.Model.Write32(off, v)
}

func (r *rig) onRx(f []byte, csumOK bool) {
	if len(f) > r.d.rxBufSize || cap(f) != len(f) {
		r.t.Errorf("rx frame len %d cap %d: beyond its buffer", len(f), cap(f))
	}
	if r.keepRx {
		r.rx = append(r.rx, append([]byte(nil), f...))
		r.csum = append(r.csum, csumOK)
	}
}

// drain runs poll rounds until the engine completes.
func (r *rig) drain() {
	r.t.Helper()
	for i := 0; r.d.NAPI().Step(); i++ {
		if i > 10000 {
			r.t.Fatal("poll engine never completed")
		}
	}
}

// receive puts frames on the wire towards the device and fails on refusal.
func (r *rig) receive(frames ...[]byte) {
	r.t.Helper()
	for _, f := range frames {
		if err := r.m.Receive(f); err != nil {
			r.t.Fatalf("model refused frame: %v", err)
		}
	}
}

// transmit offers plain frames and returns how many the driver consumed.
func (r *rig) transmit(frames ...[]byte) int { return r.d.Transmit(plain(frames...)) }

// plain wraps whole frames, each in one part, with no offload.
func plain(frames ...[]byte) []txframe.Frame {
	fs := make([]txframe.Frame, len(frames))
	for i, f := range frames {
		fs[i].Parts = [][]byte{f}
	}
	return fs
}

// frame builds an Ethernet frame to dst of n bytes (n >= 14) carrying seq
// in bytes 14-17 when it has room.
func frame(dst [6]byte, n int, seq uint32) []byte {
	f := make([]byte, max(n, 18))
	copy(f, dst[:])
	copy(f[6:], peerMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x88B5) // local experimental EtherType
	binary.BigEndian.PutUint32(f[14:], seq)
	f = f[:n]
	for i := 18; i < n; i++ {
		f[i] = byte(seq) + byte(i)
	}
	return f
}

// udpFrame builds an IPv4/UDP frame to dst with correct checksums and the
// given payload size.
func udpFrame(dst [6]byte, payload int) []byte {
	f := make([]byte, 14+20+8+payload)
	copy(f, dst[:])
	copy(f[6:], peerMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+payload))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^inet.Fold(inet.Sum(0, ip)))
	udp := f[34:]
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 7)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+payload))
	for i := range payload {
		udp[8+i] = byte(i)
	}
	s := inet.Sum(0, ip[12:20]) + 17 + uint32(8+payload)
	binary.BigEndian.PutUint16(udp[6:], ^inet.Fold(inet.Sum(s, udp)))
	return f
}

// rxAccounted checks the receive accounting identity.
func rxAccounted(t testing.TB, s RxStats) {
	t.Helper()
	sum := s.Packets + s.DropNoEOP + s.DropFrameError + s.DropZeroLength +
		s.DropRunt + s.DropOversize + s.DropNoHandler + s.DropReset
	if sum != s.Descriptors {
		t.Errorf("rx: %d descriptors but packets+drops = %d (%+v)", s.Descriptors, sum, s)
	}
}

func napiBudget(b int) napi.Config { return napi.Config{Budget: b} }
