// Package capture is the live packet capture of a network stack: a link
// endpoint (Point) that shows the packets passing through it, both ways, to
// the one capture running, which writes them as a pcap stream (gVisor's
// sniffer formats it; link type RAW, IP packets), and that capture's HTTP
// route (Handler, GET /debug/pcap). The data path never waits for a
// capture: a packet it cannot queue is left out of the file and counted.
package capture

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/nested"
	"gvisor.dev/gvisor/pkg/tcpip/link/sniffer"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Capture limits: a capture stops at whichever comes first.
const (
	// MaxPackets bounds Options.Packets.
	MaxPackets = 1_000_000
	// MaxDuration bounds Options.Duration.
	MaxDuration = 10 * time.Minute
	// MaxSnapLen bounds Options.SnapLen: a whole jumbo frame.
	MaxSnapLen = 65535
	// queueLen is how many packets may wait for the writer; beyond it
	// packets are dropped from the capture (never from the network) and
	// counted in Stats.CaptureDropped.
	queueLen = 4096
)

// ErrBusy is returned by Point.Run while another capture runs.
var ErrBusy = errors.New("capture: a capture is already running")

// Options bound a live capture.
type Options struct {
	// Packets is how many packets to write (1..MaxPackets).
	Packets int
	// Duration is the longest the capture runs (up to MaxDuration).
	Duration time.Duration
	// SnapLen caps the bytes kept per packet (1..MaxSnapLen).
	SnapLen uint32
	// ExcludeLocal and ExcludeRemote, if valid, name a TCP connection
	// whose packets are not captured: the one the capture is sent over,
	// which would otherwise capture itself.
	ExcludeLocal, ExcludeRemote netip.AddrPort
}

func (o Options) check() error {
	switch {
	case o.Packets < 1 || o.Packets > MaxPackets:
		return errors.New("capture: packets out of range")
	case o.Duration <= 0 || o.Duration > MaxDuration:
		return errors.New("capture: duration out of range")
	case o.SnapLen < 1 || o.SnapLen > MaxSnapLen:
		return errors.New("capture: snaplen out of range")
	}
	return nil
}

// Result says how a capture went.
type Result struct {
	// Packets is the number written; Dropped those lost because the
	// writer fell behind; Excluded those of the excluded connection;
	// NonIP those left out because the pcap link type (RAW) has only IP
	// (ARP).
	Packets, Dropped, Excluded, NonIP uint64
	// Stopped says which limit ended it: "packets", "duration", or
	// "cancelled" (the context, e.g. the client went away).
	Stopped string
}

// Stats are a Point's counters.
type Stats struct {
	// Captures counts captures started (Point.Run); CapturePackets the
	// packets they wrote; CaptureDropped the packets they missed
	// because the writer fell behind (the network lost none of them).
	Captures       uint64 `json:"captures"`
	CapturePackets uint64 `json:"capture_packets"`
	CaptureDropped uint64 `json:"capture_dropped"`
}

// Point is a link endpoint that shows every packet passing through it,
// both ways, to the running capture, if there is one; with none it costs
// an atomic load per packet batch. A stack puts it where a capture should
// see packets: netstack puts it right above Ethernet framing, so packets
// appear before gVisor's GRO engine merges them, but after netif's receive
// coalescer has (bulk TCP data comes up in packets of up to 64 KiB, with
// the checksums of their first segment), as tcpdump on Linux shows GRO's
// packets.
type Point struct {
	nested.Endpoint
	active atomic.Pointer[capture]

	captures, packets, dropped atomic.Uint64
}

var _ stack.LinkEndpoint = (*Point)(nil)

// NewPoint returns a capture point over lower.
func NewPoint(lower stack.LinkEndpoint) *Point {
	p := &Point{}
	p.Endpoint.Init(lower, p)
	return p
}

// Stats returns a snapshot of the point's counters.
func (p *Point) Stats() Stats {
	return Stats{Captures: p.captures.Load(), CapturePackets: p.packets.Load(), CaptureDropped: p.dropped.Load()}
}

// Run writes a pcap stream (gVisor's sniffer writes the header and every
// record, link type RAW: IP packets) of what passes through the point to
// w, until opts.Packets packets are written, opts.Duration has passed or
// ctx is done, and reports what it did. flush, if not nil, is called
// whenever the queue of captured packets runs empty and at the end, so a
// client sees them live.
// One capture runs at a time. The data path never waits for w: packets it
// cannot queue are left out of the capture and counted. Capturing turns off
// the sniffer package's text logging of every packet (sniffer.LogPackets),
// which is global.
func (p *Point) Run(ctx context.Context, w io.Writer, flush func(), opts Options) (res Result, err error) {
	if err := opts.check(); err != nil {
		return Result{}, err
	}
	sniffer.LogPackets.Store(0)
	c := &capture{queue: make(chan []byte, queueLen), opts: opts}
	// The sniffer only formats here: it writes the file header now and
	// each packet record in DumpPacket, and never uses its lower endpoint.
	sn, err := sniffer.NewWithWriter(nil, c, opts.SnapLen)
	if err != nil {
		return Result{}, err
	}
	c.sniffer = sn
	if !p.active.CompareAndSwap(nil, c) {
		return Result{}, ErrBusy
	}
	p.captures.Add(1)
	defer p.active.Store(nil)

	timer := time.NewTimer(opts.Duration)
	defer timer.Stop()
	header := true // the first record is the file header
	defer func() {
		if flush != nil {
			flush()
		}
		res.Dropped, res.Excluded, res.NonIP = c.dropped.Load(), c.excluded.Load(), c.nonIP.Load()
		p.packets.Add(res.Packets)
		p.dropped.Add(res.Dropped)
	}()
	for {
		select {
		case b := <-c.queue:
			if _, err := w.Write(b); err != nil {
				res.Stopped = "cancelled"
				return res, err
			}
			if header {
				header = false
			} else {
				res.Packets++
			}
			if len(c.queue) == 0 && flush != nil {
				flush()
			}
			if res.Packets == uint64(opts.Packets) {
				res.Stopped = "packets"
				return res, nil
			}
		case <-timer.C:
			res.Stopped = "duration"
			return res, nil
		case <-ctx.Done():
			res.Stopped = "cancelled"
			return res, nil
		}
	}
}

// capture is one running capture: the sniffer that formats packets and the
// queue between the data path and the writer.
type capture struct {
	sniffer                  *sniffer.Endpoint
	queue                    chan []byte
	opts                     Options
	dropped, excluded, nonIP atomic.Uint64
}

// Write implements io.Writer for the sniffer: each call is one record, in
// a buffer of its own. It never blocks and never fails (the sniffer
// panics on a write error).
func (c *capture) Write(b []byte) (int, error) {
	select {
	case c.queue <- b:
	default:
		c.dropped.Add(1)
	}
	return len(b), nil
}

func (c *capture) dump(dir sniffer.Direction, proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	// The pcap link type is RAW, IP only: ARP would read as a malformed
	// IP packet.
	if proto != header.IPv4ProtocolNumber && proto != header.IPv6ProtocolNumber {
		c.nonIP.Add(1)
		return
	}
	if c.excludes(pkt) {
		c.excluded.Add(1)
		return
	}
	c.sniffer.DumpPacket(dir, proto, pkt, nil)
}

// excludes reports whether pkt belongs to the excluded TCP connection.
func (c *capture) excludes(pkt *stack.PacketBuffer) bool {
	local, remote := c.opts.ExcludeLocal, c.opts.ExcludeRemote
	if !local.IsValid() || !remote.IsValid() {
		return false
	}
	v := pkt.ToView()
	defer v.Release()
	// Packets hold their Ethernet header here (received ones the header
	// they came in, sent ones the one the NIC added).
	src, dst, ok := tcpEnds(v.AsSlice()[len(pkt.LinkHeader().Slice()):])
	return ok && (src == local && dst == remote || src == remote && dst == local)
}

// tcpEnds returns the source and destination of an IPv4 or IPv6 TCP
// segment (IPv6 without extension headers).
func tcpEnds(b []byte) (src, dst netip.AddrPort, ok bool) {
	if len(b) == 0 {
		return
	}
	var saddr, daddr netip.Addr
	var l4 []byte
	switch header.IPVersion(b) {
	case header.IPv4Version:
		ip := header.IPv4(b)
		if !ip.IsValid(len(b)) || ip.TransportProtocol() != header.TCPProtocolNumber {
			return
		}
		saddr, daddr = netip.AddrFrom4(ip.SourceAddress().As4()), netip.AddrFrom4(ip.DestinationAddress().As4())
		l4 = b[ip.HeaderLength():]
	case header.IPv6Version:
		ip := header.IPv6(b)
		if !ip.IsValid(len(b)) || ip.TransportProtocol() != header.TCPProtocolNumber {
			return
		}
		saddr, daddr = netip.AddrFrom16(ip.SourceAddress().As16()), netip.AddrFrom16(ip.DestinationAddress().As16())
		l4 = b[header.IPv6MinimumSize:]
	default:
		return
	}
	if len(l4) < header.TCPMinimumSize {
		return
	}
	tcp := header.TCP(l4)
	return netip.AddrPortFrom(saddr, tcp.SourcePort()), netip.AddrPortFrom(daddr, tcp.DestinationPort()), true
}

// DeliverNetworkPacket implements stack.NetworkDispatcher.
func (p *Point) DeliverNetworkPacket(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	if c := p.active.Load(); c != nil {
		c.dump(sniffer.DirectionRecv, proto, pkt)
	}
	p.Endpoint.DeliverNetworkPacket(proto, pkt)
}

// WritePackets implements stack.LinkEndpoint.
func (p *Point) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	if c := p.active.Load(); c != nil {
		for _, pkt := range pkts.AsSlice() {
			c.dump(sniffer.DirectionSend, pkt.NetworkProtocolNumber, pkt)
		}
	}
	return p.Endpoint.WritePackets(pkts)
}
