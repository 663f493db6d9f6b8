package netif

import (
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// txBatch is how many frames one Driver.Transmit call carries at most. It
// matches the batch gVisor's qdisc/fifo dispatcher hands to WritePackets.
const txBatch = 47

var _ stack.LinkEndpoint = (*Endpoint)(nil)

// Endpoint is a gVisor link endpoint that moves whole Ethernet frames (header
// included, no FCS) between the stack and a Driver. It does no framing of its
// own: wrap it with ethernet.New, and optionally sniffer and qdisc/fifo, as
// NewStack does.
//
// Transmit never drops a frame because the ring is full: WritePackets waits
// for the driver's txReady and retries. It must therefore be called from a
// goroutine that may block, which is what a queueing discipline such as
// qdisc/fifo provides; netif never calls Driver.Transmit from inside an upcall.
//
// Received frames are copied out of the driver's buffer before the rx upcall
// returns. The driver's csumOK flag is counted but not passed to the stack:
// gVisor's NIC overwrites pkt.RXChecksumValidated with the endpoint-wide
// CapabilityRXChecksumOffload, and advertising that capability would make the
// stack skip verification for frames the device did not check (IPv6, IP
// fragments, anything with IXSM), so the stack verifies every checksum.
type Endpoint struct {
	d   Driver
	mac tcpip.LinkAddress
	// maxFrame is the largest frame the driver takes: its MTU plus the
	// Ethernet header. The transmit scratch buffers are this size.
	maxFrame int
	mtu      atomic.Uint32

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher
	onClose    func()
	registered bool

	// carrier is the driver's LinkUp as last read; linkMu orders the reads
	// and the counting of transitions.
	linkMu  sync.Mutex
	carrier atomic.Bool
	// onLink, if set before Attach, hears carrier changes after the
	// endpoint has accounted for them.
	onLink func()

	// txMu serialises WritePackets so the scratch buffers have one user.
	txMu    sync.Mutex
	frames  [][]byte
	scratch []byte
	// wake is poked by txReady, carrier changes and closing, so a
	// WritePackets waiting for ring space re-checks its conditions.
	wake   chan struct{}
	closed atomic.Bool

	c counters
}

// NewEndpoint returns an endpoint over d. The driver's upcalls are registered
// when the stack attaches the endpoint.
func NewEndpoint(d Driver) *Endpoint {
	mac := d.MAC()
	e := &Endpoint{
		d:        d,
		mac:      tcpip.LinkAddress(mac[:]),
		maxFrame: d.MTU() + header.EthernetMinimumSize,
		wake:     make(chan struct{}, 1),
	}
	e.mtu.Store(uint32(e.maxFrame))
	e.carrier.Store(d.LinkUp())
	e.scratch = make([]byte, txBatch*e.maxFrame)
	e.frames = make([][]byte, 0, txBatch)
	return e
}

// MTU implements stack.LinkEndpoint. It is the largest frame, Ethernet header
// included, because this endpoint sits below ethernet.Endpoint, which
// subtracts the header again.
func (e *Endpoint) MTU() uint32 { return e.mtu.Load() }

// SetMTU implements stack.LinkEndpoint. It takes a frame size like MTU
// returns; values above what the driver supports are clamped to it.
func (e *Endpoint) SetMTU(mtu uint32) {
	e.mtu.Store(min(mtu, uint32(e.maxFrame)))
}

// MaxHeaderLength implements stack.LinkEndpoint. The Ethernet header is
// accounted for by ethernet.Endpoint.
func (*Endpoint) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.LinkEndpoint: the driver's MAC address.
func (e *Endpoint) LinkAddress() tcpip.LinkAddress { return e.mac }

// SetLinkAddress implements stack.LinkEndpoint. The station address belongs
// to the driver (it programs the receive filter), so the request is ignored.
func (*Endpoint) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.LinkEndpoint. ethernet.Endpoint adds
// CapabilityResolutionRequired; see the Endpoint comment for why
// CapabilityRXChecksumOffload is not claimed.
func (*Endpoint) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityNone
}

// ARPHardwareType implements stack.LinkEndpoint. ethernet.Endpoint turns
// ARPHardwareNone into ARPHardwareEther.
func (*Endpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.LinkEndpoint. Frames arrive with their header.
func (*Endpoint) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint. Frames leave with their header.
func (*Endpoint) ParseHeader(*stack.PacketBuffer) bool { return true }

// Attach implements stack.LinkEndpoint. The driver's upcalls are registered
// on the first attach; while detached, received frames are counted and
// dropped.
func (e *Endpoint) Attach(dispatcher stack.NetworkDispatcher) {
	e.mu.Lock()
	e.dispatcher = dispatcher
	register := dispatcher != nil && !e.registered
	e.registered = e.registered || register
	e.mu.Unlock()
	if register {
		e.d.Attach(e.receive, e.linkChanged, e.txReady)
		// A change between registering and this read is heard twice,
		// which is harmless: both reads converge on the driver.
		e.refreshCarrier()
	}
}

// IsAttached implements stack.LinkEndpoint: whether a stack is attached.
// Carrier is reported by LinkUp and, in a Stack, by the NIC being enabled.
func (e *Endpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

// LinkUp reports the carrier as last read from the driver.
func (e *Endpoint) LinkUp() bool { return e.carrier.Load() }

// Wait implements stack.LinkEndpoint. The endpoint owns no goroutines.
func (*Endpoint) Wait() {}

// Close implements stack.LinkEndpoint. A WritePackets waiting for ring space
// gives up and later ones drop their frames.
func (e *Endpoint) Close() {
	e.stopTX()
	e.mu.RLock()
	f := e.onClose
	e.mu.RUnlock()
	if f != nil {
		f()
	}
}

// SetOnCloseAction implements stack.LinkEndpoint.
func (e *Endpoint) SetOnCloseAction(f func()) {
	e.mu.Lock()
	e.onClose = f
	e.mu.Unlock()
}

// stopTX makes transmit give up instead of waiting for ring space.
func (e *Endpoint) stopTX() {
	e.closed.Store(true)
	e.poke()
}

// poke wakes a waiting WritePackets without blocking the caller.
func (e *Endpoint) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// receive is the driver's rx upcall. frame is only valid during the call,
// so it is copied into a gVisor buffer before delivery.
func (e *Endpoint) receive(frame []byte, csumOK bool) {
	e.c.rxFrames.Add(1)
	e.c.rxBytes.Add(uint64(len(frame)))
	if csumOK {
		e.c.rxCsumOK.Add(1)
	}
	if len(frame) < header.EthernetMinimumSize {
		e.c.rxRunt.Add(1)
		return
	}
	e.mu.RLock()
	d := e.dispatcher
	e.mu.RUnlock()
	if d == nil {
		e.c.rxDetached.Add(1)
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
		Payload: buffer.MakeWithData(frame),
	})
	// The protocol comes from the Ethernet header, which ethernet.Endpoint
	// parses before handing the packet to the NIC.
	d.DeliverNetworkPacket(0, pkt)
	pkt.DecRef()
}

// linkChanged is the driver's link upcall. Its argument is not trusted:
// upcalls from different goroutines may arrive in another order than the
// changes, so the carrier is read from the driver again.
func (e *Endpoint) linkChanged(bool) {
	e.refreshCarrier()
	e.poke()
	if e.onLink != nil {
		e.onLink()
	}
}

// refreshCarrier sets the carrier to the driver's LinkUp and counts the
// transition, if any. Reads are serialised, so the last one wins and it
// sees the driver's latest state.
func (e *Endpoint) refreshCarrier() {
	e.linkMu.Lock()
	defer e.linkMu.Unlock()
	up := e.d.LinkUp()
	if e.carrier.Swap(up) == up {
		return
	}
	if up {
		e.c.linkUp.Add(1)
	} else {
		e.c.linkDown.Add(1)
	}
}

// txReady is the driver's upcall after a full ring has drained.
func (e *Endpoint) txReady() {
	e.c.txReady.Add(1)
	e.poke()
}

// WritePackets implements stack.LinkEndpoint. It copies each packet into a
// scratch frame and hands the driver up to txBatch frames per call. When the
// ring is full it waits for txReady and retries, so a full ring loses
// nothing; it stops waiting only when carrier is lost or the endpoint is
// closed, and then drops (and counts) the rest. It returns how many packets
// the driver accepted and, if any were dropped, why.
func (e *Endpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	e.txMu.Lock()
	defer e.txMu.Unlock()

	var err tcpip.Error
	sent := 0
	frames := e.frames[:0]
	flush := func() {
		n, ferr := e.transmit(frames)
		sent += n
		if ferr != nil && err == nil {
			err = ferr
		}
		frames = frames[:0]
	}
	for _, pkt := range pkts.AsSlice() {
		size := pkt.Size()
		if size > int(e.mtu.Load()) {
			e.c.txDropTooBig.Add(1)
			if err == nil {
				err = &tcpip.ErrMessageTooLong{}
			}
			continue
		}
		i := len(frames)
		frame := e.scratch[i*e.maxFrame : i*e.maxFrame+size]
		copyPacket(frame, pkt)
		frames = append(frames, frame)
		if len(frames) == txBatch {
			flush()
		}
	}
	if len(frames) > 0 {
		flush()
	}
	return sent, err
}

// transmit gives frames to the driver, waiting for ring space as needed. It
// returns how many the driver took and why the others were dropped.
func (e *Endpoint) transmit(frames [][]byte) (int, tcpip.Error) {
	sent := 0
	for sent < len(frames) {
		if e.closed.Load() {
			return sent, e.drop(&e.c.txDropClosed, frames[sent:], &tcpip.ErrClosedForSend{})
		}
		if !e.carrier.Load() {
			return sent, e.drop(&e.c.txDropLinkDown, frames[sent:], &tcpip.ErrNoNet{})
		}
		n := e.d.Transmit(frames[sent:])
		for _, f := range frames[sent : sent+n] {
			e.c.txFrames.Add(1)
			e.c.txBytes.Add(uint64(len(f)))
		}
		sent += n
		if sent < len(frames) {
			// Ring full: the driver calls txReady once it has room. A
			// stale poke only costs one more Transmit attempt.
			e.c.txBackpressure.Add(1)
			<-e.wake
		}
	}
	return sent, nil
}

// drop counts frames that will not be sent under reason and returns err.
func (e *Endpoint) drop(reason *atomic.Uint64, frames [][]byte, err tcpip.Error) tcpip.Error {
	reason.Add(uint64(len(frames)))
	return err
}

// copyPacket flattens pkt, headers and payload, into dst, which is exactly
// pkt.Size() bytes. It walks gVisor's view list to avoid allocating.
func copyPacket(dst []byte, pkt *stack.PacketBuffer) {
	views, skip := pkt.AsViewList()
	for v := views.Front(); v != nil && len(dst) > 0; v = v.Next() {
		b := v.AsSlice()
		if skip >= len(b) {
			skip -= len(b)
			continue
		}
		n := copy(dst, b[skip:])
		skip = 0
		dst = dst[n:]
	}
}
