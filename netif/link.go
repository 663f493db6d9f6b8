package netif

import (
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/link/qdisc/fifo"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// LinkOptions configure NewLink.
type LinkOptions struct {
	// NoOffload leaves the device's offloads unused: no host GSO (TSO and
	// TCP checksum insertion), no GRO, no trust in the device's receive
	// checksum verdicts.
	NoOffload bool
	// TxQueueLen is how many packets the fifo qdisc holds while the
	// driver's ring is full (at least 1).
	TxQueueLen int
	// Tap, if set, wraps the Ethernet layer before GRO goes on top, so
	// what it puts there (a capture, say) sees packets as they leave and
	// as they arrived, except TCP data the endpoint's coalescer merged
	// (coalesce.go), which it sees merged.
	Tap func(stack.LinkEndpoint) (stack.LinkEndpoint, error)
	// OnCarrier, if set, is called on the driver's link upcall after the
	// endpoint has read and counted the carrier (Endpoint.LinkUp); it
	// must not block.
	OnCarrier func()
}

// Link is what a gVisor NIC is created on: gVisor's fifo qdisc over GRO
// over [Tap over] Ethernet framing over an Endpoint on the driver.
type Link struct {
	ep    *Endpoint
	gro   *groEndpoint
	qdisc *txQueue
}

// NewLink builds the link on d. GRO runs when the driver delivers in
// batches (RxBatcher) and offloads are on. The driver's upcalls are
// registered when a NIC attaches the link.
func NewLink(d Driver, o LinkOptions) (*Link, error) {
	ep := newEndpoint(d, !o.NoOffload)
	ep.onLink = o.OnCarrier
	var link stack.LinkEndpoint = ethernet.New(ep)
	if o.Tap != nil {
		var err error
		if link, err = o.Tap(link); err != nil {
			return nil, err
		}
	}
	// GRO needs the end of each receive batch to flush.
	batcher, batches := d.(RxBatcher)
	useGRO := batches && !o.NoOffload
	g := newGROEndpoint(link, ep, useGRO)
	if useGRO {
		ep.verifyTCP.Store(true)
		batcher.OnRxBatchEnd(g.Flush)
	}
	// One dispatcher keeps frames in order on the driver's single ring.
	q := &txQueue{QueueingDiscipline: fifo.New(g, 1, o.TxQueueLen), ep: ep}
	return &Link{ep: ep, gro: g, qdisc: q}, nil
}

// Endpoint is the link endpoint on the driver.
func (l *Link) Endpoint() *Endpoint { return l.ep }

// LinkEndpoint is the top of the link, for stack.CreateNICWithOptions.
func (l *Link) LinkEndpoint() stack.LinkEndpoint { return l.gro }

// QueueingDiscipline is the transmit queue, for stack.NICOptions.QDisc.
// Its Close releases a WritePackets waiting on a full ring.
func (l *Link) QueueingDiscipline() stack.QueueingDiscipline { return l.qdisc }

// Inject hands pkt to the NIC as if it had been received, past GRO and the
// Tap (for packets the stack made itself, such as a router advertisement
// given back).
func (l *Link) Inject(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	l.gro.Endpoint.DeliverNetworkPacket(proto, pkt)
}

// txQueue is gVisor's fifo qdisc whose Close first releases a WritePackets
// waiting on a full ring; otherwise removing the NIC would wait forever on
// a device that never drains.
type txQueue struct {
	stack.QueueingDiscipline
	ep *Endpoint
}

// Close implements stack.QueueingDiscipline.
func (q *txQueue) Close() {
	q.ep.stopTX()
	q.QueueingDiscipline.Close()
}
