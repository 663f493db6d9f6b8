// Package stdnet puts the standard library's net package on a gVisor
// stack: on GOOS=tamago, Install makes it the stack of every TCP and UDP
// socket that net.Listen, net.Dial, net.ListenPacket and the resolver
// open (the port's net.SetStack), so net/http, crypto/tls and database
// drivers run unmodified.
//
// The sockets here are that stack's: blocking calls over gVisor's
// non-blocking endpoints, with deadlines, and gVisor's errors turned into
// the errno values Linux returns, so errors.Is(err, syscall.ECONNREFUSED)
// and net.Error's Timeout behave as there.
package stdnet

import (
	"context"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// listenBacklog is a listener's queue of established connections not yet
// accepted, Linux's default somaxconn.
const listenBacklog = 4096

// Stack opens sockets on a gVisor stack.
type Stack struct {
	// Listening, if set, is called with each TCP listener's address
	// once it accepts connections (the unikernel prints its READY line
	// at the first).
	Listening func(network string, addr netip.AddrPort)

	s *stack.Stack
	// nic carries link-local IPv6 peers, which need a zone.
	nic tcpip.NICID
}

// New is the sockets of s; link-local IPv6 addresses are nic's.
func New(s *stack.Stack, nic tcpip.NICID) *Stack {
	return &Stack{s: s, nic: nic}
}

// open makes sock a socket of transport proto for network (see
// familyOf, which addrs inform).
func (st *Stack) open(sock *socket, proto tcpip.TransportProtocolNumber, network string, addrs ...netip.AddrPort) error {
	fam := familyOf(network, addrs...)
	var wq waiter.Queue
	ep, err := st.s.NewEndpoint(proto, fam.proto, &wq)
	if err != nil {
		return errno(err)
	}
	if fam.proto == ipv6.ProtocolNumber {
		ep.SocketOptions().SetV6Only(fam.v6only)
	}
	sock.init(ep, &wq, fam, st.nic)
	return nil
}

// bind binds sock to laddr if it names an address or a port; otherwise
// connecting or listening picks them.
func (s *socket) bind(laddr netip.AddrPort) error {
	if laddr.Port() == 0 && (!laddr.Addr().IsValid() || laddr.Addr().IsUnspecified()) {
		return nil
	}
	return errno(s.ep.Bind(s.fam.full(laddr, s.nic)))
}

// DialTCP connects to raddr from laddr (any address and port when zero),
// returning once connected, refused or unreachable, or ctx is done (its
// error then).
func (st *Stack) DialTCP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*Conn, error) {
	c := new(Conn)
	if err := st.open(&c.socket, tcp.ProtocolNumber, network, laddr, raddr); err != nil {
		return nil, err
	}
	if err := c.bind(laddr); err != nil {
		c.Close()
		return nil, err
	}
	err := c.ep.Connect(c.fam.full(raddr, st.nic))
	if _, started := err.(*tcpip.ErrConnectStarted); started {
		select {
		case <-c.writable:
			err = c.ep.LastError()
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		}
	}
	if err != nil {
		c.Close()
		return nil, errno(err)
	}
	return c, nil
}

// ListenTCP listens on laddr; the address reusable at once after a close,
// as Go sets SO_REUSEADDR on Linux.
func (st *Stack) ListenTCP(network string, laddr netip.AddrPort) (*Listener, error) {
	l := new(Listener)
	if err := st.open(&l.socket, tcp.ProtocolNumber, network, laddr); err != nil {
		return nil, err
	}
	l.ep.SocketOptions().SetReuseAddress(true)
	if err := l.bind(laddr); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.ep.Listen(listenBacklog); err != nil {
		l.Close()
		return nil, errno(err)
	}
	if st.Listening != nil {
		st.Listening(network, l.LocalAddr())
	}
	return l, nil
}

// ListenUDP binds laddr and, when raddr is valid, connects to it.
// Broadcasts are allowed, as Go does on Linux.
func (st *Stack) ListenUDP(network string, laddr, raddr netip.AddrPort) (*PacketConn, error) {
	c := new(PacketConn)
	if err := st.open(&c.socket, udp.ProtocolNumber, network, laddr, raddr); err != nil {
		return nil, err
	}
	c.ep.SocketOptions().SetBroadcast(true)
	if err := c.bind(laddr); err != nil {
		c.Close()
		return nil, err
	}
	if raddr.IsValid() {
		if err := c.ep.Connect(c.fam.full(raddr, st.nic)); err != nil {
			c.Close()
			return nil, errno(err)
		}
	}
	return c, nil
}
