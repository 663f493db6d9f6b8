package stdnet

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// newLoopback is a gVisor stack with one loopback NIC holding 127.0.0.1
// and ::1.
func newLoopback(t testing.TB) *Stack {
	t.Helper()
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	t.Cleanup(func() { s.Close(); s.Wait() })
	const nic = 1
	if err := s.CreateNIC(nic, loopback.New()); err != nil {
		t.Fatal(err)
	}
	for _, a := range []tcpip.Address{tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), tcpip.AddrFrom16(netip.IPv6Loopback().As16())} {
		proto := ipv4.ProtocolNumber
		if a.Len() == 16 {
			proto = ipv6.ProtocolNumber
		}
		if err := s.AddProtocolAddress(nic, tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: a.WithPrefix()}, stack.AddressProperties{}); err != nil {
			t.Fatal(err)
		}
	}
	s.SetRouteTable([]tcpip.Route{
		{Destination: subnet(t, "127.0.0.0/8"), NIC: nic},
		{Destination: subnet(t, "::1/128"), NIC: nic},
	})
	return New(s, nic)
}

func subnet(t testing.TB, p string) tcpip.Subnet {
	pre := netip.MustParsePrefix(p)
	sub, err := tcpip.NewSubnet(tcpip.AddrFromSlice(pre.Addr().AsSlice()), tcpip.MaskFromBytes(net.CIDRMask(pre.Bits(), pre.Addr().BitLen())))
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

var bg = context.Background()

func listen(t *testing.T, st *Stack, network, addr string) *Listener {
	t.Helper()
	l, err := st.ListenTCP(network, netip.MustParseAddrPort(addr))
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestTCPEchoBothFamilies(t *testing.T) {
	st := newLoopback(t)
	l := listen(t, st, "tcp", "[::]:80") // dual-stack, as net.Listen("tcp", ":80")
	if got := l.LocalAddr().String(); got != "[::]:80" {
		t.Errorf("listener address %s, want [::]:80", got)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	for _, dst := range []string{"127.0.0.1:80", "[::1]:80"} {
		c, err := st.DialTCP(bg, "tcp", netip.AddrPort{}, netip.MustParseAddrPort(dst))
		if err != nil {
			t.Fatalf("dial %s: %v", dst, err)
		}
		msg := make([]byte, 1<<20) // larger than the send buffer: partial writes
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		go func() {
			c.Write(msg)
			c.CloseWrite()
		}()
		got, err := io.ReadAll(c)
		if err != nil || string(got) != string(msg) {
			t.Fatalf("echo via %s: %d of %d bytes, %v", dst, len(got), len(msg), err)
		}
		if c.RemoteAddr().String() != dst {
			t.Errorf("remote address %v, want %s", c.RemoteAddr(), dst)
		}
		c.Close()
	}
}

func TestDialClosedPortIsRefused(t *testing.T) {
	st := newLoopback(t)
	_, err := st.DialTCP(bg, "tcp4", netip.AddrPort{}, netip.MustParseAddrPort("127.0.0.1:9"))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: %v, want ECONNREFUSED", err)
	}
}

func TestListenTwiceIsInUse(t *testing.T) {
	st := newLoopback(t)
	listen(t, st, "tcp4", "127.0.0.1:81")
	if _, err := st.ListenTCP("tcp4", netip.MustParseAddrPort("127.0.0.1:81")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listen: %v, want EADDRINUSE", err)
	}
}

// pair is a connected pair of TCP sockets.
func pair(t *testing.T, st *Stack) (client, server *Conn) {
	t.Helper()
	l := listen(t, st, "tcp4", "127.0.0.1:0")
	accepted := make(chan *Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err := st.DialTCP(bg, "tcp4", netip.AddrPort{}, l.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestReadDeadline(t *testing.T) {
	st := newLoopback(t)
	c, _ := pair(t, st)
	deadline := time.Now().Add(50 * time.Millisecond)
	c.SetReadDeadline(deadline)
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	if now := time.Now(); now.Before(deadline) {
		t.Fatalf("read returned %v before its deadline", deadline.Sub(now))
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%v is not a net.Error timeout", err)
	}
	// A deadline moved into the future makes the socket usable again.
	c.SetReadDeadline(time.Time{})
	if err := c.usable(&c.readDL); err != nil {
		t.Fatalf("deadline cleared, still %v", err)
	}
}

func TestPastDeadlineWakesBlockedRead(t *testing.T) {
	st := newLoopback(t)
	c, _ := pair(t, st)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	// The reader may not have blocked yet; either way it must end.
	c.SetReadDeadline(time.Unix(1, 0))
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want the deadline", err)
	}
}

func TestCloseWakesBlockedAccept(t *testing.T) {
	st := newLoopback(t)
	l := listen(t, st, "tcp", "[::]:0")
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	l.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after close: %v, want net.ErrClosed", err)
	}
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func TestEOFAfterPeerCloses(t *testing.T) {
	st := newLoopback(t)
	c, s := pair(t, st)
	s.Write([]byte("bye"))
	s.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("read %q, %v", got, err)
	}
}

func TestDialCanceled(t *testing.T) {
	st := newLoopback(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := st.DialTCP(ctx, "tcp4", netip.AddrPort{}, netip.MustParseAddrPort("127.0.0.1:9"))
	if err == nil {
		t.Fatal("dial with a canceled context succeeded")
	}
	// 192.0.2.1 is not routed here.
	if _, err := st.DialTCP(bg, "tcp4", netip.AddrPort{}, netip.MustParseAddrPort("192.0.2.1:80")); !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("dial without a route: %v, want ENETUNREACH", err)
	}
}

func TestUDP(t *testing.T) {
	st := newLoopback(t)
	srv, err := st.ListenUDP("udp", netip.MustParseAddrPort("[::]:53"), netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, dst := range []string{"127.0.0.1:53", "[::1]:53"} {
		cl, err := st.ListenUDP("udp", netip.AddrPort{}, netip.MustParseAddrPort(dst))
		if err != nil {
			t.Fatalf("connect %s: %v", dst, err)
		}
		if _, err := cl.Write([]byte("query")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 3) // shorter than the datagram: cut
		n, from, err := srv.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "que" {
			t.Fatalf("server read %q, %v", buf[:n], err)
		}
		if _, err := srv.WriteTo([]byte("answer"), from); err != nil {
			t.Fatalf("reply to %v: %v", from, err)
		}
		cl.SetReadDeadline(time.Now().Add(time.Minute))
		n, err = cl.Read(buf[:cap(buf)])
		if err != nil || string(buf[:n]) != "ans" {
			t.Fatalf("client read %q, %v", buf[:n], err)
		}
		cl.Close()
	}
}

func TestOptions(t *testing.T) {
	st := newLoopback(t)
	c, _ := pair(t, st)
	for name, err := range map[string]error{
		"nodelay":   c.SetNoDelay(true),
		"keepalive": c.SetKeepAlive(true),
		"idle":      c.SetKeepAliveIdle(15 * time.Second),
		"interval":  c.SetKeepAliveInterval(15 * time.Second),
		"count":     c.SetKeepAliveCount(9),
		"linger":    c.SetLinger(-1),
		"rcvbuf":    c.SetReadBuffer(1 << 16),
		"sndbuf":    c.SetWriteBuffer(1 << 16),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if c.ep.SocketOptions().GetDelayOption() {
		t.Error("SetNoDelay(true) left Nagle on")
	}
	if !c.ep.SocketOptions().GetKeepAlive() {
		t.Error("SetKeepAlive(true) did not turn keep-alive on")
	}
}
