package dhcpclient

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The test network: the client's MAC and a server at .2 of 10.0.2.0/24.
var (
	testMAC    = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	serverAddr = netip.MustParseAddr("10.0.2.2")
)

// pipeConn is the client's end of an in-memory wire to a fakeServer: a
// net.PacketConn whose writes go to the server and whose reads come from
// it.
type pipeConn struct {
	toServer chan sent
	inbox    chan []byte
	closed   chan struct{}
	once     sync.Once
}

// sent is a message the client sent, and where to.
type sent struct {
	b   []byte
	dst netip.AddrPort
	at  time.Time
}

func newPipe() *pipeConn {
	return &pipeConn{toServer: make(chan sent, 64), inbox: make(chan []byte, 64), closed: make(chan struct{})}
}

func (p *pipeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case m := <-p.inbox:
		return copy(b, m), &net.UDPAddr{IP: serverAddr.AsSlice(), Port: ServerPort}, nil
	case <-p.closed:
		return 0, nil, net.ErrClosed
	}
}

func (p *pipeConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-p.closed:
		return 0, net.ErrClosed
	default:
	}
	ua := addr.(*net.UDPAddr)
	p.toServer <- sent{append([]byte(nil), b...), ua.AddrPort(), time.Now()}
	return len(b), nil
}

func (p *pipeConn) Close() error                     { p.once.Do(func() { close(p.closed) }); return nil }
func (p *pipeConn) LocalAddr() net.Addr              { return &net.UDPAddr{Port: ClientPort} }
func (p *pipeConn) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (p *pipeConn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }

// request is a client message as the fake server sees it.
type request struct {
	typ       layers.DHCPMsgType
	msg       *layers.DHCPv4
	dst       netip.AddrPort
	at        time.Time
	len       int
	requested netip.Addr // option 50
	server    netip.Addr // option 54
	ciaddr    netip.Addr
	broadcast bool
}

// fakeServer answers the client through a pipeConn with what its policy
// says, and keeps every request it saw.
type fakeServer struct {
	t      *testing.T
	pipe   *pipeConn
	policy func(r request) [][]byte

	mu   sync.Mutex
	reqs []request
	seen chan request
}

func newFakeServer(t *testing.T, pipe *pipeConn, policy func(request) [][]byte) *fakeServer {
	s := &fakeServer{t: t, pipe: pipe, policy: policy, seen: make(chan request, 256)}
	go s.run()
	return s
}

func (s *fakeServer) run() {
	for {
		var m sent
		select {
		case m = <-s.pipe.toServer:
		case <-s.pipe.closed:
			return
		}
		d := &layers.DHCPv4{}
		if err := d.DecodeFromBytes(m.b, gopacket.NilDecodeFeedback); err != nil {
			s.t.Errorf("server: client sent an undecodable message: %v", err)
			continue
		}
		r := request{msg: d, dst: m.dst, at: m.at, len: len(m.b), broadcast: d.Flags&flagBroadcast != 0}
		r.ciaddr, _ = netip.AddrFromSlice(d.ClientIP.To4())
		for _, o := range d.Options {
			switch o.Type {
			case layers.DHCPOptMessageType:
				r.typ = layers.DHCPMsgType(o.Data[0])
			case layers.DHCPOptRequestIP:
				r.requested, _ = netip.AddrFromSlice(o.Data)
			case layers.DHCPOptServerID:
				r.server, _ = netip.AddrFromSlice(o.Data)
			}
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.mu.Unlock()
		s.seen <- r
		for _, b := range s.policy(r) {
			s.pipe.inbox <- b
		}
	}
}

// requests returns the requests seen so far.
func (s *fakeServer) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// leaseOpts are the lease options a reply carries.
type leaseOpts struct {
	addr      netip.Prefix
	gw        netip.Addr
	dns       []netip.Addr
	lease     uint32 // seconds
	t1, t2    uint32 // 0: not sent
	noServer  bool   // leave the Server Identifier out
	mask      []byte // the Subnet Mask option's bytes, if not addr's
	serverID  netip.Addr
	extraOpts []layers.DHCPOption
}

// replyTo builds the server's answer of type typ to r.
func replyTo(r request, typ layers.DHCPMsgType, lo leaseOpts) []byte {
	d := layers.DHCPv4{
		Operation:    layers.DHCPOpReply,
		HardwareType: layers.LinkTypeEthernet,
		HardwareLen:  6,
		Xid:          r.msg.Xid,
		Flags:        r.msg.Flags,
		ClientHWAddr: r.msg.ClientHWAddr,
		NextServerIP: serverAddr.AsSlice(),
	}
	opt := func(t layers.DHCPOpt, b []byte) { d.Options = append(d.Options, layers.NewDHCPOption(t, b)) }
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	opt(layers.DHCPOptMessageType, []byte{byte(typ)})
	if !lo.noServer {
		opt(layers.DHCPOptServerID, cmpAddr(lo.serverID, serverAddr).AsSlice())
	}
	if typ != layers.DHCPMsgTypeNak {
		d.YourClientIP = lo.addr.Addr().AsSlice()
		mask := []byte(net.CIDRMask(lo.addr.Bits(), 32))
		if lo.mask != nil {
			mask = lo.mask
		}
		opt(layers.DHCPOptSubnetMask, mask)
		if lo.gw.IsValid() {
			opt(layers.DHCPOptRouter, lo.gw.AsSlice())
		}
		if len(lo.dns) > 0 {
			var b []byte
			for _, a := range lo.dns {
				b = append(b, a.AsSlice()...)
			}
			opt(layers.DHCPOptDNS, b)
		}
		opt(layers.DHCPOptLeaseTime, u32(lo.lease))
		if lo.t1 != 0 {
			opt(layers.DHCPOptT1, u32(lo.t1))
			opt(layers.DHCPOptT2, u32(lo.t2))
		}
	}
	d.Options = append(d.Options, lo.extraOpts...)
	buf := gopacket.NewSerializeBuffer()
	if err := d.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// answer is the policy of a well-behaved server granting lo: OFFER to
// DISCOVER, ACK to REQUEST.
func answer(lo leaseOpts) func(request) [][]byte {
	return func(r request) [][]byte {
		switch r.typ {
		case layers.DHCPMsgTypeDiscover:
			return [][]byte{replyTo(r, layers.DHCPMsgTypeOffer, lo)}
		case layers.DHCPMsgTypeRequest:
			return [][]byte{replyTo(r, layers.DHCPMsgTypeAck, lo)}
		}
		return nil
	}
}

// host is the test's Config.Apply and Remove: it records what the client
// configured.
type host struct {
	mu      sync.Mutex
	events  []string
	current Lease
	applied chan Lease
	removed chan Lease
}

func newHost() *host {
	return &host{applied: make(chan Lease, 16), removed: make(chan Lease, 16)}
}

func (h *host) apply(prev, l Lease) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if prev.Addr != h.current.Addr {
		return errors.New("apply: prev is not the configured lease")
	}
	h.current = l
	h.events = append(h.events, "apply "+l.Addr.String())
	h.applied <- l
	return nil
}

func (h *host) remove(l Lease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.current = Lease{}
	h.events = append(h.events, "remove "+l.Addr.String())
	h.removed <- l
}

// fastTiming keeps the tests short: leases are whole seconds on the wire,
// so retries are made to fit inside them.
var fastTiming = Timing{
	Retransmit:    50 * time.Millisecond,
	MaxRetransmit: 400 * time.Millisecond,
	Jitter:        10 * time.Millisecond,
	MinRenewRetry: 100 * time.Millisecond,
}

// startClient runs a client against a fake server with the given policy,
// until the test ends.
func startClient(t *testing.T, policy func(request) [][]byte) (*Client, *fakeServer, *host) {
	t.Helper()
	pipe := newPipe()
	srv := newFakeServer(t, pipe, policy)
	h := newHost()
	c := New(pipe, Config{
		MAC: testMAC, Hostname: "test", Apply: h.apply, Remove: h.remove,
		Log: func(s string) { t.Log(s) }, Timing: fastTiming,
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v, want context canceled", err)
		}
	})
	return c, srv, h
}

// await waits for the server to see a request that match accepts.
func (s *fakeServer) await(t *testing.T, what string, match func(request) bool) request {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case r := <-s.seen:
			if match(r) {
				return r
			}
		case <-deadline:
			t.Fatalf("no %s within 30 s; requests: %d", what, len(s.requests()))
		}
	}
}

// awaitLease waits for the next lease the host is given.
func (h *host) awaitLease(t *testing.T) Lease {
	t.Helper()
	return awaitOn(t, h.applied, "lease applied")
}

// awaitRemove waits for the next lease the host is told to remove.
func (h *host) awaitRemove(t *testing.T) Lease {
	t.Helper()
	return awaitOn(t, h.removed, "lease removed")
}

func awaitOn(t *testing.T, ch <-chan Lease, what string) Lease {
	t.Helper()
	select {
	case l := <-ch:
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s within 30 s", what)
	}
	return Lease{}
}

func isType(typ layers.DHCPMsgType) func(request) bool {
	return func(r request) bool { return r.typ == typ }
}

// wantStats waits until the client's counters satisfy ok (the host hears
// of a lease before the client counts it), failing the test if they do
// not within 30 s, and returns them.
func wantStats(t *testing.T, c *Client, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := c.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Errorf("stats %+v", s)
			return s
		}
		time.Sleep(time.Millisecond)
	}
}
