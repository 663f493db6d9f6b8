package netif

import (
	"bytes"
	"sync/atomic"
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"tamanet/txframe"
)

// sinkDriver accepts every frame, remembering the last, and lets tests
// call the upcalls directly. Its carrier is up until setLink says otherwise.
type sinkDriver struct {
	last    []byte
	down    atomic.Bool
	rx      func([]byte, bool)
	link    func(bool)
	txReady func()
}

func (*sinkDriver) MTU() int       { return 1500 }
func (*sinkDriver) MAC() [6]byte   { return [6]byte{2, 0, 0, 0, 0, 1} }
func (d *sinkDriver) LinkUp() bool { return !d.down.Load() }

// setLink changes the carrier and makes the link upcall, as a driver does.
func (d *sinkDriver) setLink(up bool) {
	d.down.Store(!up)
	d.link(up)
}
func (d *sinkDriver) Transmit(f []txframe.Frame) int {
	d.last = d.last[:0]
	for _, p := range f[len(f)-1].Parts {
		d.last = append(d.last, p...)
	}
	return len(f)
}
func (*sinkDriver) TxCapabilities() txframe.Capabilities { return txframe.Capabilities{} }
func (d *sinkDriver) Attach(rx func([]byte, bool), link func(bool), txReady func()) {
	d.rx, d.link, d.txReady = rx, link, txReady
}

// recorder is a NetworkDispatcher that keeps copies of delivered packets.
type recorder struct{ got [][]byte }

func (r *recorder) DeliverNetworkPacket(_ tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	r.got = append(r.got, pkt.ToView().AsSlice())
}
func (*recorder) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}

// nopDispatcher drops everything, for benchmarks.
type nopDispatcher struct{}

func (nopDispatcher) DeliverNetworkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}
func (nopDispatcher) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer)    {}

// testPacket builds a packet of size bytes laid out as gVisor's upper
// layers do: link and network headers pushed in front of a payload.
func testPacket(size int) *stack.PacketBuffer {
	payload := make([]byte, size-header.EthernetMinimumSize-header.IPv4MinimumSize)
	for i := range payload {
		payload[i] = byte(i)
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
		ReserveHeaderBytes: header.EthernetMinimumSize + header.IPv4MinimumSize,
		Payload:            buffer.MakeWithData(payload),
	})
	copy(pkt.NetworkHeader().Push(header.IPv4MinimumSize), bytes.Repeat([]byte{0x45}, header.IPv4MinimumSize))
	copy(pkt.LinkHeader().Push(header.EthernetMinimumSize), bytes.Repeat([]byte{0xEE}, header.EthernetMinimumSize))
	return pkt
}

func TestWritePacketsFlattens(t *testing.T) {
	d := &sinkDriver{}
	e := NewEndpoint(d)
	e.Attach(nopDispatcher{})
	pkt := testPacket(1514)
	defer pkt.DecRef()
	var list stack.PacketBufferList
	list.PushBack(pkt)
	if n, err := e.WritePackets(list); n != 1 || err != nil {
		t.Fatalf("WritePackets = %d, %v", n, err)
	}
	if want := pkt.ToView().AsSlice(); !bytes.Equal(d.last, want) {
		t.Errorf("driver got % x...\nwant % x...", d.last[:40], want[:40])
	}
	if c := e.Counters(); c.TxFrames != 1 || c.TxBytes != 1514 {
		t.Errorf("counters %+v", c)
	}
}

func TestWritePacketsNoAlloc(t *testing.T) {
	e := NewEndpoint(&sinkDriver{})
	e.Attach(nopDispatcher{})
	var list stack.PacketBufferList
	for range txBatch + 3 { // more than one driver batch
		list.PushBack(testPacket(1514))
	}
	defer list.DecRef()
	if allocs := testing.AllocsPerRun(100, func() { e.WritePackets(list) }); allocs != 0 {
		t.Errorf("WritePackets allocates %.1f times per call", allocs)
	}
}

func TestWritePacketsTooBig(t *testing.T) {
	e := NewEndpoint(&sinkDriver{})
	e.Attach(nopDispatcher{})
	var list stack.PacketBufferList
	list.PushBack(testPacket(1515))
	list.PushBack(testPacket(100))
	defer list.DecRef()
	n, err := e.WritePackets(list)
	if _, ok := err.(*tcpip.ErrMessageTooLong); n != 1 || !ok {
		t.Errorf("WritePackets = %d, %v; want 1, ErrMessageTooLong", n, err)
	}
	if c := e.Counters(); c.TxDropTooBig != 1 || c.TxFrames != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestWritePacketsLinkDownAndClosed(t *testing.T) {
	d := &sinkDriver{}
	e := NewEndpoint(d)
	e.Attach(nopDispatcher{})
	var list stack.PacketBufferList
	list.PushBack(testPacket(100))
	defer list.DecRef()

	d.setLink(false)
	if _, err := e.WritePackets(list); err == nil {
		t.Error("WritePackets with carrier down succeeded")
	}
	d.setLink(true)
	if n, err := e.WritePackets(list); n != 1 || err != nil {
		t.Errorf("WritePackets after carrier returned = %d, %v", n, err)
	}
	e.Close()
	if _, err := e.WritePackets(list); err == nil {
		t.Error("WritePackets after Close succeeded")
	}
	c := e.Counters()
	if c.TxDropLinkDown != 1 || c.TxDropClosed != 1 || c.LinkDown != 1 || c.LinkUp != 1 || c.TxFrames != 1 {
		t.Errorf("counters %+v", c)
	}
}

// TestCarrierFollowsDriver: link upcalls that arrive out of order, their
// argument stale by the time they run, leave netif with the driver's
// current carrier (LinkUp), and only real transitions are counted.
func TestCarrierFollowsDriver(t *testing.T) {
	d := &sinkDriver{}
	e := NewEndpoint(d)
	e.Attach(nopDispatcher{})
	// Down then up, heard in the opposite order.
	d.down.Store(true)
	d.down.Store(false)
	d.link(true)
	d.link(false)
	if !e.LinkUp() {
		t.Error("netif carrier down after a stale down upcall; the driver says up")
	}
	// Up then down, heard in the opposite order.
	d.down.Store(true)
	d.link(false)
	d.link(true)
	if e.LinkUp() {
		t.Error("netif carrier up after a stale up upcall; the driver says down")
	}
	if c := e.Counters(); c.LinkDown != 1 || c.LinkUp != 0 || c.Carrier {
		t.Errorf("counters %+v: want one transition, to down", c)
	}
}

// TestAttachReadsCarrier: the carrier netif starts with is the driver's
// when the upcalls are registered.
func TestAttachReadsCarrier(t *testing.T) {
	d := &sinkDriver{}
	d.down.Store(true)
	e := NewEndpoint(d)
	e.Attach(nopDispatcher{})
	if e.LinkUp() {
		t.Error("netif carrier up; the driver says down")
	}
}

func TestReceive(t *testing.T) {
	d := &sinkDriver{}
	e := NewEndpoint(d)
	var r recorder
	e.Attach(&r)
	frame := bytes.Repeat([]byte{7}, 60)
	d.rx(frame, true)
	frame[0] = 0 // the driver reuses its buffer after the upcall
	d.rx(frame[:10], false)
	e.Attach(nil)
	d.rx(frame, false)

	if len(r.got) != 1 || !bytes.Equal(r.got[0], bytes.Repeat([]byte{7}, 60)) {
		t.Errorf("delivered %d packets, first % x", len(r.got), r.got)
	}
	c := e.Counters()
	if c.RxFrames != 3 || c.RxBytes != 130 || c.RxCsumOK != 1 || c.RxRunt != 1 || c.RxDetached != 1 {
		t.Errorf("counters %+v", c)
	}
}

func BenchmarkWritePackets(b *testing.B) {
	e := NewEndpoint(&sinkDriver{})
	e.Attach(nopDispatcher{})
	var list stack.PacketBufferList
	for range txBatch {
		list.PushBack(testPacket(1514))
	}
	defer list.DecRef()
	b.SetBytes(int64(txBatch * 1514))
	b.ReportAllocs()
	for b.Loop() {
		e.WritePackets(list)
	}
}

func BenchmarkReceive(b *testing.B) {
	d := &sinkDriver{}
	e := NewEndpoint(d)
	e.Attach(nopDispatcher{})
	frame := make([]byte, 1514)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		d.rx(frame, false)
	}
}
