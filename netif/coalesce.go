package netif

import (
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Receive coalescing. A bulk TCP receive brings in one MTU-sized frame per
// 1448 bytes, and each frame used to become a gVisor packet of its own
// (a pooled chunk cleared and filled, a PacketBuffer) that went through
// Ethernet, the capture tap and gVisor's GRO engine only to be merged there
// into a larger one. The coalescer merges earlier, straight from the
// driver's frames: while a receive batch lasts, the payload of an in-order
// data segment of a held flow is copied into that flow's held packet, and
// only the held packet becomes a PacketBuffer, one per ~12 frames, which
// goes up past the GRO engine. This is Linux's GRO or FreeBSD's LRO done
// before the stack's packet exists.
//
// What merges: a segment verified (by the device or tcpChecksumsValid) and
// checked (parseRxHeaders: IPv4 without options and not a fragment, IPv6
// without extension headers), with flags exactly ACK or ACK|PSH, options
// only NOP, EOL and one timestamp, whose payload fits the MTU, and which
// continues a held flow exactly: same addresses, ports and IPv4 TOS / IPv6
// traffic class and flow label, sequence number where the held data ends,
// the same option layout, payload of the held packet's segment size (its
// first segment's) or, ending the hold, shorter; acknowledgement and
// timestamp not going back. The held packet keeps its first segment's
// headers with the IP length fixed, and the acknowledgement number, window
// and timestamp echo of its last segment, PSH if any segment had it. Its
// checksums (IPv4 header, TCP) are not fixed: the packet goes up marked
// verified, as Linux's GRO packets do and gVisor's GRO engine leaves them.
//
// Why the acknowledgement may advance within a held packet: ACKs are
// cumulative, so the last one says all the earlier ones did, and gVisor's
// TCP grows its congestion window by the bytes an ACK covers, not by ACKs
// counted. No duplicate ACK can vanish: RFC 5681 counts an ACK as a
// duplicate only if it carries no data, and segments without payload never
// merge. A window update carried by data (same acknowledgement, new
// window) is overtaken by the last segment's window, which is the current
// one; RFC 9293's window update rule (SND.WL1/WL2) accepts it since the
// sequence number is the first segment's, not older than any the sender
// used before. The timestamp value stays the first segment's: RFC 7323
// (section 4.3) has a receiver that acknowledges several segments at once
// echo the earliest, so the sender's RTT covers the wait; its echo (TSecr)
// is the last's, the one that goes with the acknowledgement.
//
// Order: a flow's packets keep their order. A TCP segment of a held flow
// that cannot merge first releases the flow's held packet; so does one too
// big for it (beyond 64 KiB). A frame that is not a checked, verified TCP
// segment (its flow unknown, or one netif does not check: IPv4 options,
// IPv6 extension headers) releases every held packet first. Segments of
// other flows may overtake held data, as in Linux's GRO. The batch end
// (groEndpoint.Flush) releases everything, so nothing waits for a later
// poll. A held packet goes through groEndpoint after the pure ACK it
// holds and whatever the GRO engine holds (segments netif did not merge,
// which may be of the same flow).
//
// A frame larger than the MTU (virtio-net's host GSO, already one big
// segment) is left to the old path: it cannot be of a held packet's size.
//
// The capture tap sits above, so it sees the held packets as the stack
// does, as tcpdump on Linux sees GRO packets (with TCP checksums that do
// not match: they were verified before merging).

const (
	// coalesceFlows is how many flows one batch holds at once; a new flow
	// beyond it releases the oldest.
	coalesceFlows = 8
	// coalesceMax is the largest held packet, Ethernet header included:
	// gVisor's largest pooled chunk, and below the IPv4 length limit.
	coalesceMax = buffer.MaxChunkSize
	// heldChunk is the size of the chunks a held packet is written into;
	// chunks come cleared, so a small one wastes less clearing.
	heldChunk = 8 << 10
)

// Flush reasons of held packets, indexes into counters.rxCoalesceFlush.
const (
	flushBatchEnd = iota // the receive batch ended
	flushPush            // the last segment had PSH or was short
	flushMismatch        // a segment of the flow could not merge
	flushFull            // the next segment would go beyond coalesceMax
	flushEvict           // coalesceFlows flows were held and a new one came
	flushOther           // a frame of unknown flow came
	numFlushReasons
)

// rxSegment is what the coalescer reads of a received TCP segment.
type rxSegment struct {
	frame  []byte // Ethernet header to the IP packet's end
	hdrLen int    // Ethernet, IP and TCP headers
	// key is the flow: addresses, ports, IPv4 TOS or IPv6 traffic class
	// and flow label, in keyBuf.
	key      []byte
	keyBuf   [2*header.IPv6AddressSize + 4 + 4]byte
	seq, ack uint32
	tsOff    int // offset of the timestamp option in the TCP header, or 0
	tsVal    uint32
	// mergeable is whether the segment's flags and options allow merging;
	// psh whether it has PSH, which ends a held packet.
	mergeable, psh bool
}

// parseRxSegment reads frame's TCP segment, whose headers h describes.
func parseRxSegment(frame []byte, h rxHeaders, s *rxSegment) {
	l3 := frame[header.EthernetMinimumSize:]
	tcp := header.TCP(l3[h.ipLen : h.ipLen+h.tcpLen])
	s.frame, s.hdrLen = frame, header.EthernetMinimumSize+h.ipLen+h.tcpLen
	s.seq, s.ack, s.tsOff, s.tsVal = tcp.SequenceNumber(), tcp.AckNumber(), 0, 0
	var n int
	if h.ipLen == header.IPv4MinimumSize {
		n = copy(s.keyBuf[:], l3[12:20])
		n += copy(s.keyBuf[n:], tcp[:4])
		n += copy(s.keyBuf[n:], l3[1:2]) // TOS
	} else {
		n = copy(s.keyBuf[:], l3[8:40])
		n += copy(s.keyBuf[n:], tcp[:4])
		n += copy(s.keyBuf[n:], l3[:4]) // traffic class, flow label
	}
	s.key = s.keyBuf[:n]
	flags := tcp.Flags()
	s.psh = flags&header.TCPFlagPsh != 0
	s.mergeable = (flags == header.TCPFlagAck || flags == header.TCPFlagAck|header.TCPFlagPsh) &&
		tcp[header.TCPDataOffset]&0x0F == 0
	if s.mergeable {
		var a pureACK
		s.mergeable = parseACKOptions(tcp.Options(), &a)
		if a.hasTS {
			s.tsVal = a.tsVal
			s.tsOff = tsOffset(tcp)
		}
	}
}

// tsOffset returns where in tcp the timestamp option starts (options
// already checked by parseACKOptions to hold one).
func tsOffset(tcp header.TCP) int {
	for i := header.TCPMinimumSize; i < len(tcp); {
		if tcp[i] == header.TCPOptionTS {
			return i
		}
		i++ // NOP: EOL cannot come before the timestamp
	}
	return 0
}

// payload returns the segment's data.
func (s *rxSegment) payload() []byte { return s.frame[s.hdrLen:] }

// heldFlow is one flow's held packet.
type heldFlow struct {
	key    [len(rxSegment{}.keyBuf)]byte // rxSegment.key
	keyLen int
	views  [coalesceMax / heldChunk]*buffer.View
	nviews int
	size   int // bytes held, Ethernet header included
	hdrLen int // Ethernet, IP and TCP headers
	ipLen  int
	mss    int    // payload of the first segment
	next   uint32 // sequence number after the held data
	ack    uint32
	tsOff  int
	tsVal  uint32 // of the last segment
}

// coalescer holds the flows of the receive batch under way.
type coalescer struct {
	flows [coalesceFlows]heldFlow
	n     int // flows[:n] are held, oldest first
	d     stack.NetworkDispatcher
	seg   rxSegment
}

// coalesce is the receive upcall's coalescing step for a frame (trimmed to
// its IP packet when verified) and its headers: it reports whether it took
// the frame; otherwise the frame goes up on its own, after the held data
// it must follow has gone up.
func (e *Endpoint) coalesce(d stack.NetworkDispatcher, frame []byte, h rxHeaders, verified bool) bool {
	c := &e.co
	if !verified || h.tcpLen == 0 {
		for c.n > 0 {
			e.release(0, flushOther)
		}
		return false
	}
	if c.n == 0 && len(frame) > e.maxFrame {
		return false // cannot start a held packet (GSO from virtio-net)
	}
	s := &c.seg
	parseRxSegment(frame, h, s)
	p := len(frame) - s.hdrLen
	i := c.find(s.key)
	if i >= 0 {
		f := &c.flows[i]
		switch continues := f.continues(s, p); {
		case continues && f.size+p > coalesceMax:
			e.release(i, flushFull)
		case continues:
			e.took()
			f.add(s, p)
			if p < f.mss || s.psh {
				e.release(i, flushPush)
			}
			return true
		default:
			e.release(i, flushMismatch)
		}
	}
	if !s.mergeable || p == 0 || len(frame) > e.maxFrame || s.psh {
		return false
	}
	if c.n == len(c.flows) {
		e.release(0, flushEvict)
	}
	e.took()
	c.d = d
	c.flows[c.n].start(s, h, p)
	c.n++
	return true
}

// took counts a frame the coalescer takes and tells the layer above.
func (e *Endpoint) took() {
	e.c.rxGROIn.Add(1)
	e.c.rxCoalescedIn.Add(1)
	if e.onCoalesced != nil {
		e.onCoalesced()
	}
}

// find returns the index of the held flow with key, or -1.
func (c *coalescer) find(key []byte) int {
	for i := range c.flows[:c.n] {
		f := &c.flows[i]
		if f.keyLen == len(key) && string(f.key[:f.keyLen]) == string(key) {
			return i
		}
	}
	return -1
}

// start makes the flow's held packet s, with p bytes of payload.
func (f *heldFlow) start(s *rxSegment, h rxHeaders, p int) {
	f.keyLen = copy(f.key[:], s.key)
	v := buffer.NewView(heldChunk)
	v.Write(s.frame)
	f.views[0], f.nviews = v, 1
	f.size, f.hdrLen, f.ipLen = len(s.frame), s.hdrLen, h.ipLen
	f.mss, f.next, f.ack = p, s.seq+uint32(p), s.ack
	f.tsOff, f.tsVal = s.tsOff, s.tsVal
}

// continues reports whether s, with p bytes of payload, may be appended to
// the held packet (size limit aside).
func (f *heldFlow) continues(s *rxSegment, p int) bool {
	if !s.mergeable || s.hdrLen != f.hdrLen || s.seq != f.next || p == 0 || p > f.mss ||
		int32(s.ack-f.ack) < 0 || s.tsOff != f.tsOff || (f.tsOff != 0 && int32(s.tsVal-f.tsVal) < 0) {
		return false
	}
	// Same option layout: the options are NOP, EOL and one timestamp,
	// which is at the same place, so the bytes outside it must match.
	held := f.views[0].AsSlice()[f.hdrLen-f.tcpLen()+header.TCPMinimumSize : f.hdrLen]
	opts := s.frame[s.hdrLen-len(held) : s.hdrLen]
	for i := range opts {
		if t := f.tsOff - header.TCPMinimumSize; f.tsOff != 0 && i >= t+2 && i < t+header.TCPOptionTSLength {
			continue
		}
		if opts[i] != held[i] {
			return false
		}
	}
	return true
}

// tcpLen is the held packet's TCP header length.
func (f *heldFlow) tcpLen() int { return f.hdrLen - header.EthernetMinimumSize - f.ipLen }

// add appends s's payload (p bytes) to the held packet and takes its
// acknowledgement, window, timestamp echo and PSH.
func (f *heldFlow) add(s *rxSegment, p int) {
	data := s.payload()
	for len(data) > 0 {
		v := f.views[f.nviews-1]
		if v.AvailableSize() == 0 {
			v = buffer.NewView(heldChunk)
			f.views[f.nviews] = v
			f.nviews++
		}
		n := min(len(data), v.AvailableSize())
		v.Write(data[:n])
		data = data[n:]
	}
	tcpAt := f.hdrLen - f.tcpLen()
	held := header.TCP(f.views[0].AsSlice()[tcpAt:f.hdrLen])
	tcp := header.TCP(s.frame[tcpAt:s.hdrLen])
	held.SetAckNumber(tcp.AckNumber())
	held.SetWindowSize(tcp.WindowSize())
	held.SetFlags(uint8(held.Flags() | tcp.Flags()&header.TCPFlagPsh))
	if f.tsOff != 0 {
		copy(held[f.tsOff+6:f.tsOff+10], tcp[f.tsOff+6:f.tsOff+10]) // TSecr
	}
	f.size += p
	f.next += uint32(p)
	f.ack, f.tsVal = s.ack, s.tsVal
}

// release sends flow i's held packet up, counting why.
func (e *Endpoint) release(i int, reason int) {
	c := &e.co
	f := &c.flows[i]
	ip := f.views[0].AsSlice()[header.EthernetMinimumSize:]
	if f.ipLen == header.IPv4MinimumSize {
		header.IPv4(ip).SetTotalLength(uint16(f.size - header.EthernetMinimumSize))
	} else {
		header.IPv6(ip).SetPayloadLength(uint16(f.size - header.EthernetMinimumSize - header.IPv6MinimumSize))
	}
	var buf buffer.Buffer
	for _, v := range f.views[:f.nviews] {
		buf.Append(v)
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buf})
	pkt.RXChecksumValidated = true
	hdrs := rxHeaders{ipEnd: f.size, ipLen: f.ipLen, tcpLen: f.tcpLen()}
	copy(c.flows[i:c.n], c.flows[i+1:c.n])
	c.n--
	c.flows[c.n] = heldFlow{}
	e.c.rxCoalescedOut.Add(1)
	e.c.rxCoalesceFlush[reason].Add(1)
	e.deliver(c.d, pkt, hdrs, true)
}

// releaseAll sends every held packet up: the receive batch has ended.
func (e *Endpoint) releaseAll() {
	for e.co.n > 0 {
		e.release(0, flushBatchEnd)
	}
}
