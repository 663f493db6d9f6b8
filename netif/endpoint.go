package netif

import (
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"tamanet/lattrace"
	"tamanet/txframe"
)

// txBatch is how many frames one Driver.Transmit call carries at most. It
// matches the batch gVisor's qdisc/fifo dispatcher hands to WritePackets.
const txBatch = 47

// gsoMaxSize is the largest TCP packet (IP header on) netif asks gVisor to
// build with host GSO: the IPv4 total length field's limit.
const gsoMaxSize = 1<<16 - 1

var (
	_ stack.LinkEndpoint = (*Endpoint)(nil)
	_ stack.GSOEndpoint  = (*Endpoint)(nil)
)

// Endpoint is a gVisor link endpoint that moves whole Ethernet frames (header
// included, no FCS) between the stack and a Driver. It does no framing of its
// own: wrap it with ethernet.New, and optionally sniffer and qdisc/fifo, as
// NewLink does.
//
// Transmit hands the driver each packet as the list of gVisor's buffer views
// it is made of, with a reference on the packet (txframe.Frame.Hold) that
// the driver drops once the device is done: the driver may point the device
// at the views themselves, and copies only what it must or what is cheaper
// to copy. Software-segmented frames carry no hold (their headers live in a
// buffer reused per batch) and are copied.
// When the driver checksums TCP for both IP versions the endpoint offers
// gVisor host GSO (stack.GSOEndpoint): TCP then leaves the checksum to the
// device (CHECKSUM_PARTIAL) and writes up to 64 KiB per packet, which the
// device segments (TSO) where it can and netif segments in software where it
// cannot (IPv6 on e1000, or beyond the driver's TSO size). The endpoint does
// not claim CapabilityTXChecksumOffload: with it gVisor leaves UDP checksums
// unset even in datagrams it then fragments, which no device can complete
// from one fragment, and IPv6 forbids a zero UDP checksum; TCP needs none of
// it, since host GSO marks every segment of a connection for offload.
//
// Transmit never drops a frame because the ring is full: WritePackets waits
// for the driver's txReady and retries. It must therefore be called from a
// goroutine that may block, which is what a queueing discipline such as
// qdisc/fifo provides; netif never calls Driver.Transmit from inside an upcall.
//
// Received frames are copied out of the driver's buffer before the rx upcall
// returns. A frame the driver reports checksum-verified is marked so
// (pkt.RXChecksumValidated); see groEndpoint for how that reaches the stack.
type Endpoint struct {
	d   Driver
	mac tcpip.LinkAddress
	// maxFrame is the largest frame the driver takes without TSO: its MTU
	// plus the Ethernet header.
	maxFrame int
	mtu      atomic.Uint32
	// offload is whether the driver's offloads are used; caps are what
	// it offers and gsoMax the GSO size reported to gVisor (0: no GSO).
	offload bool
	caps    txframe.Capabilities
	gsoMax  uint32
	// verifyTCP is set while GRO runs above: received TCP segments are
	// verified here so that it can merge them (see groEndpoint).
	verifyTCP atomic.Bool
	// rxSeg is the verified frame being delivered and its headers, for
	// GRO above (segmentOf); only the receive upcall's goroutine uses it.
	rxSeg receivedSegment
	// co holds the flows the receive coalescer is merging (coalesce.go),
	// while verifyTCP is set; only the receive upcall's goroutine uses it.
	co coalescer
	// onCoalesced, set by the GRO layer above before Attach, hears of
	// every frame the coalescer takes.
	onCoalesced func()

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

	// txMu serialises WritePackets so the batch buffers have one user:
	// frames for the driver, the parts (view slices) they point to, and
	// the headers software segmentation writes.
	txMu    sync.Mutex
	frames  []txframe.Frame
	parts   [][]byte
	hdrs    []byte
	pktLast []int // per packet in frames, the index of its last frame
	// wake is poked by txReady, carrier changes and closing, so a
	// WritePackets waiting for ring space re-checks its conditions.
	wake   chan struct{}
	closed atomic.Bool

	c counters
}

// NewEndpoint returns an endpoint over d that uses the transmit offloads d
// offers. The driver's upcalls are registered when the stack attaches the
// endpoint.
func NewEndpoint(d Driver) *Endpoint { return newEndpoint(d, true) }

// newEndpoint returns an endpoint over d, using its offloads if offload.
func newEndpoint(d Driver, offload bool) *Endpoint {
	mac := d.MAC()
	e := &Endpoint{
		d:        d,
		mac:      tcpip.LinkAddress(mac[:]),
		maxFrame: d.MTU() + header.EthernetMinimumSize,
		offload:  offload,
		wake:     make(chan struct{}, 1),
	}
	e.mtu.Store(uint32(e.maxFrame))
	e.carrier.Store(d.LinkUp())
	if offload {
		e.caps = d.TxCapabilities()
	}
	if e.caps.Features.Has(txframe.CsumTCPv4 | txframe.CsumTCPv6) {
		e.gsoMax = gsoMaxSize
		if e.caps.Features.Has(txframe.TSOv4) {
			// Packets the device can segment in one go.
			e.gsoMax = uint32(min(gsoMaxSize, e.caps.TSOMaxSize-header.EthernetMinimumSize))
		}
	}
	e.frames = make([]txframe.Frame, 0, txBatch)
	e.parts = make([][]byte, 0, 4*txBatch)
	e.pktLast = make([]int, 0, txBatch)
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

// SupportedGSO implements stack.GSOEndpoint: host GSO when the driver
// checksums TCP over IPv4 and IPv6.
func (e *Endpoint) SupportedGSO() stack.SupportedGSO {
	if e.gsoMax == 0 {
		return stack.GSONotSupported
	}
	return stack.HostGSOSupported
}

// GSOMaxSize implements stack.GSOEndpoint: the largest TCP packet, IP header
// included, gVisor may hand over.
func (e *Endpoint) GSOMaxSize() uint32 { return e.gsoMax }

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
	// Only a frame that may count as verified needs its headers: the
	// others go up as they came.
	var hdrs rxHeaders
	verified := false
	if e.offload && (csumOK || e.verifyTCP.Load()) {
		hdrs = parseRxHeaders(frame)
		verified = csumOK || hdrs.tcpChecksumsValid(frame)
	}
	if verified {
		// A verified packet may go through GRO, which takes the packet's
		// length for the IP datagram's: drop the link layer's padding.
		frame = frame[:hdrs.ipEnd]
	}
	if e.offload && e.verifyTCP.Load() && e.coalesce(d, frame, hdrs, verified) {
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
		Payload: buffer.MakeWithData(frame),
	})
	pkt.RXChecksumValidated = verified
	e.deliver(d, pkt, hdrs, false)
}

// deliver hands pkt, a received frame or a held packet (coalesced), to the
// layers above and releases it. A verified packet's headers hdrs go with
// it for GRO (segmentOf).
func (e *Endpoint) deliver(d stack.NetworkDispatcher, pkt *stack.PacketBuffer, hdrs rxHeaders, coalesced bool) {
	verified := pkt.RXChecksumValidated
	if verified {
		e.rxSeg = receivedSegment{pkt, hdrs, coalesced}
	}
	size := pkt.Size()
	// The protocol comes from the Ethernet header, which ethernet.Endpoint
	// parses before handing the packet to the NIC.
	d.DeliverNetworkPacket(0, pkt)
	if verified {
		e.rxSeg = receivedSegment{}
	}
	lattrace.Record(lattrace.KindDeliver, uint32(size))
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

// WritePackets implements stack.LinkEndpoint. It hands the driver up to
// txBatch frames per call, each as the views the packet is made of, with the
// offloads it needs. When the ring is full it waits for txReady and retries,
// so a full ring loses nothing; it stops waiting only when carrier is lost
// or the endpoint is closed, and then drops (and counts) the rest. It
// returns how many packets the driver accepted and, if any were dropped,
// why. A packet segmented in software counts once, when all its segments
// were accepted.
func (e *Endpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	e.txMu.Lock()
	defer e.txMu.Unlock()

	var err tcpip.Error
	sent := 0
	flush := func() {
		n, ferr := e.transmit(e.frames)
		for _, last := range e.pktLast {
			if last < n {
				sent++
			}
		}
		if ferr != nil && err == nil {
			err = ferr
		}
		e.frames, e.parts, e.hdrs, e.pktLast = e.frames[:0], e.parts[:0], e.hdrs[:0], e.pktLast[:0]
	}
	for _, pkt := range pkts.AsSlice() {
		size := pkt.Size()
		o, gso, soft := e.offloadFor(pkt, size)
		if !gso && size > int(e.mtu.Load()) {
			e.c.txDropTooBig.Add(1)
			if err == nil {
				err = &tcpip.ErrMessageTooLong{}
			}
			continue
		}
		if soft {
			e.segment(pkt, size, o, flush)
			continue
		}
		start := len(e.parts)
		e.appendBytes(pkt, 0, size)
		// The frame's parts are the packet's views: holding the packet
		// keeps them, so the driver may hand them to the device as they
		// are and release the packet when the device is done.
		pkt.IncRef()
		e.frames = append(e.frames, txframe.Frame{Parts: e.parts[start:], Offload: o, Hold: (*heldPacket)(pkt)})
		e.pktLast = append(e.pktLast, len(e.frames)-1)
		switch {
		case o.MSS != 0:
			e.c.txTSO.Add(1)
		case o.L4 != txframe.L4None:
			e.c.txCsumOffload.Add(1)
		}
		if len(e.frames) >= txBatch {
			flush()
		}
	}
	if len(e.frames) > 0 {
		flush()
	}
	return sent, err
}

// offloadFor works out what the device is asked to do for pkt of size
// bytes. gso reports a packet gVisor built for host GSO (its TCP checksum is
// left to the device); soft that the device cannot segment it, so netif
// must.
func (e *Endpoint) offloadFor(pkt *stack.PacketBuffer, size int) (o txframe.Offload, gso, soft bool) {
	g := &pkt.GSOOptions
	if (g.Type != stack.GSOTCPv4 && g.Type != stack.GSOTCPv6) || !g.NeedsCsum {
		return o, false, false
	}
	l3 := len(pkt.LinkHeader().Slice())
	l4 := l3 + len(pkt.NetworkHeader().Slice())
	hdr := l4 + len(pkt.TransportHeader().Slice())
	o = txframe.Offload{L4: txframe.L4TCP, IPv6: g.Type == stack.GSOTCPv6, L3Start: uint16(l3), L4Start: uint16(l4)}
	if g.MSS == 0 || size-hdr <= int(g.MSS) {
		return o, true, false // one segment: the checksum is all that is left
	}
	tso := txframe.TSOv4
	if o.IPv6 {
		tso = txframe.TSOv6
	}
	if e.caps.Features.Has(tso) && size <= e.caps.TSOMaxSize {
		o.MSS, o.HeaderLen = g.MSS, uint16(hdr)
		return o, true, false
	}
	return o, true, true
}

// appendBytes appends to e.parts the packet's bytes [from, to) as slices of
// the views holding them; nothing is copied.
func (e *Endpoint) appendBytes(pkt *stack.PacketBuffer, from, to int) {
	views, off := pkt.AsViewList()
	from, to = from+off, to+off
	pos := 0
	for v := views.Front(); v != nil && pos < to; v = v.Next() {
		b := v.AsSlice()
		if lo, hi := max(from-pos, 0), min(to-pos, len(b)); lo < hi {
			e.parts = append(e.parts, b[lo:hi])
		}
		pos += len(b)
	}
}

// transmit gives frames to the driver, waiting for ring space as needed. It
// returns how many the driver took and why the others were dropped.
func (e *Endpoint) transmit(frames []txframe.Frame) (int, tcpip.Error) {
	sent := 0
	for sent < len(frames) {
		if e.closed.Load() {
			return sent, e.drop(&e.c.txDropClosed, frames[sent:], &tcpip.ErrClosedForSend{})
		}
		if !e.carrier.Load() {
			return sent, e.drop(&e.c.txDropLinkDown, frames[sent:], &tcpip.ErrNoNet{})
		}
		n := e.d.Transmit(frames[sent:])
		for i := range frames[sent : sent+n] {
			e.c.txFrames.Add(1)
			e.c.txBytes.Add(uint64(frames[sent+i].Len()))
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

// drop counts frames that will not be sent under reason, releases their
// holds (the driver never consumed them) and returns err.
func (e *Endpoint) drop(reason *atomic.Uint64, frames []txframe.Frame, err tcpip.Error) tcpip.Error {
	reason.Add(uint64(len(frames)))
	for i := range frames {
		if h := frames[i].Hold; h != nil {
			frames[i].Hold = nil
			h.Release()
		}
	}
	return err
}

// heldPacket is a packet whose reference a frame holds (txframe.Frame.Hold):
// the driver's Release drops it.
type heldPacket stack.PacketBuffer

// Release implements txframe.Releaser.
func (h *heldPacket) Release() { (*stack.PacketBuffer)(h).DecRef() }
