package netstack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/raw"
	"gvisor.dev/gvisor/pkg/waiter"
)

// maxRouters bounds the routers whose advertisements raCache keeps.
const maxRouters = 8

// raCache keeps the latest router advertisement of each router, read from
// a raw ICMPv6 socket, so that they can be given back to gVisor when the
// link returns. A disabled NIC loses what gVisor's NDP learnt (SLAAC
// addresses, routers, on-link prefixes: ndpState.cleanupState), but a lost
// carrier says nothing about the network having changed: Linux keeps its
// addresses over a carrier loss, and so should a server whose clients
// reach it by its SLAAC address. Replayed, with every lifetime shortened
// by the time since it arrived, an advertisement restores exactly what the
// router said and lets gVisor own the result as before: DAD runs again for
// the address, lifetimes run on, later advertisements refresh them.
type raCache struct {
	mu  sync.Mutex
	ras map[tcpip.Address]savedRA // by router (source address)
}

// savedRA is one router advertisement's ICMPv6 message and when it came.
type savedRA struct {
	msg []byte
	at  time.Time
}

// newRACache opens the raw socket and reads it until done is closed.
func newRACache(s *stack.Stack, done <-chan struct{}) (*raCache, error) {
	var wq waiter.Queue
	ep, err := raw.NewEndpoint(s, ipv6.ProtocolNumber, header.ICMPv6ProtocolNumber, &wq)
	if err != nil {
		return nil, fmt.Errorf("netstack: raw ICMPv6 socket for router advertisements: %s", err)
	}
	// The hop limit and destination prove an advertisement on-link and
	// let its checksum be checked: raw sockets see packets before gVisor
	// validates them.
	ep.SocketOptions().SetReceiveHopLimit(true)
	ep.SocketOptions().SetIPv6ReceivePacketInfo(true)
	c := &raCache{ras: map[tcpip.Address]savedRA{}}
	go c.read(ep, &wq, done)
	return c, nil
}

// read keeps the router advertisements arriving on ep until done.
func (c *raCache) read(ep tcpip.Endpoint, wq *waiter.Queue, done <-chan struct{}) {
	defer ep.Close()
	we, ready := waiter.NewChannelEntry(waiter.ReadableEvents)
	wq.EventRegister(&we)
	defer wq.EventUnregister(&we)
	var b bytes.Buffer
	for {
		b.Reset()
		res, err := ep.Read(&b, tcpip.ReadOptions{NeedRemoteAddr: true})
		if _, wait := err.(*tcpip.ErrWouldBlock); wait {
			select {
			case <-ready:
				continue
			case <-done:
				return
			}
		}
		if err != nil {
			return
		}
		cm := res.ControlMessages
		if cm.HasHopLimit && cm.HopLimit == header.NDPHopLimit && cm.HasIPv6PacketInfo {
			c.keep(res.RemoteAddr.Addr, cm.IPv6PacketInfo.Addr, b.Bytes())
		}
	}
}

// keep records msg, from src to dst, if it is a well-formed router
// advertisement from a link-local address.
func (c *raCache) keep(src, dst tcpip.Address, msg []byte) {
	h := header.ICMPv6(msg)
	if len(msg) < header.ICMPv6HeaderSize+header.NDPRAMinimumSize || h.Type() != header.ICMPv6RouterAdvert || h.Code() != 0 ||
		!header.IsV6LinkLocalUnicastAddress(src) ||
		header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: h, Src: src, Dst: dst}) != h.Checksum() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.ras[src]; !ok && len(c.ras) == maxRouters {
		return // the first routers heard are kept
	}
	c.ras[src] = savedRA{bytes.Clone(msg), time.Now()}
}

// replay hands every advertisement kept to deliver as an IPv6 packet from
// its router to all nodes, lifetimes shortened by its age, and returns how
// many.
func (c *raCache) replay(deliver func(tcpip.NetworkProtocolNumber, *stack.PacketBuffer)) int {
	c.mu.Lock()
	saved := make(map[tcpip.Address]savedRA, len(c.ras))
	for src, ra := range c.ras {
		saved[src] = ra
	}
	c.mu.Unlock()
	for src, ra := range saved {
		msg := agedRA(ra.msg, time.Since(ra.at))
		dst := header.IPv6AllNodesMulticastAddress
		h := header.ICMPv6(msg)
		h.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: h, Src: src, Dst: dst}))
		pkt := make([]byte, header.IPv6MinimumSize+len(msg))
		header.IPv6(pkt).Encode(&header.IPv6Fields{
			PayloadLength:     uint16(len(msg)),
			TransportProtocol: header.ICMPv6ProtocolNumber,
			HopLimit:          header.NDPHopLimit,
			SrcAddr:           src,
			DstAddr:           dst,
		})
		copy(pkt[header.IPv6MinimumSize:], msg)
		pb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
		pb.PktType = tcpip.PacketMulticast
		deliver(header.IPv6ProtocolNumber, pb)
		pb.DecRef()
	}
	return len(saved)
}

// agedRA is a copy of the router advertisement msg with every lifetime it
// carries (the router's, and those of the Prefix Information, Route
// Information, RDNSS and DNSSL options) shortened by age, down to 0;
// infinite lifetimes stay infinite.
func agedRA(msg []byte, age time.Duration) []byte {
	b := bytes.Clone(msg)
	secs := uint32(min(math.Ceil(age.Seconds()), math.MaxUint32-1))
	// The ICMPv6 header, then the RA's hop limit, flags and 16-bit
	// router lifetime (RFC 4861 section 4.2).
	rl := b[header.ICMPv6HeaderSize+2:]
	binary.BigEndian.PutUint16(rl, uint16(uint32(binary.BigEndian.Uint16(rl))-min(uint32(binary.BigEndian.Uint16(rl)), secs)))
	shorten := func(field []byte) {
		if v := binary.BigEndian.Uint32(field); v != math.MaxUint32 {
			binary.BigEndian.PutUint32(field, v-min(v, secs))
		}
	}
	opts := b[header.ICMPv6HeaderSize+header.NDPRAMinimumSize:]
	for len(opts) >= 8 {
		n := int(opts[1]) * 8
		if n == 0 || n > len(opts) {
			break // gVisor rejects the advertisement anyway
		}
		switch opts[0] {
		case 3: // Prefix Information: valid, then preferred lifetime
			if n >= 12 {
				shorten(opts[4:8])
				shorten(opts[8:12])
			}
		case 24, 25, 31: // Route Information (RFC 4191), RDNSS, DNSSL (RFC 8106)
			shorten(opts[4:8])
		}
		opts = opts[n:]
	}
	return b
}
