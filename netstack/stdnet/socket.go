package stdnet

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/waiter"
)

// socket is what every kind of socket here shares: the gVisor endpoint,
// one deadline and one readiness channel per direction, and Close.
//
// The readiness entries stay registered for the socket's life, so a
// blocked call costs no registration; a token left from an earlier event
// only costs one more try. Reads (and accepts) are serialised, as are
// writes, like poll.FD does on Linux, so one token wakes the one waiter.
type socket struct {
	ep  tcpip.Endpoint
	wq  *waiter.Queue
	fam family
	nic tcpip.NICID

	readMu, writeMu    sync.Mutex
	readDL, writeDL    deadline
	readEntry          waiter.Entry
	writeEntry         waiter.Entry
	readable, writable chan struct{}
	closing            chan struct{}
	closeOnce          sync.Once
}

func (s *socket) init(ep tcpip.Endpoint, wq *waiter.Queue, fam family, nic tcpip.NICID) {
	s.ep, s.wq, s.fam, s.nic = ep, wq, fam, nic
	s.closing = make(chan struct{})
	s.readEntry, s.readable = waiter.NewChannelEntry(waiter.ReadableEvents | waiter.EventHUp | waiter.EventErr)
	s.writeEntry, s.writable = waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&s.readEntry)
	wq.EventRegister(&s.writeEntry)
}

// await blocks until ready has an event, the deadline passes or the
// socket is closed.
func (s *socket) await(ready <-chan struct{}, dl *deadline) error {
	select {
	case <-ready:
		return nil
	case <-dl.wait():
		return os.ErrDeadlineExceeded
	case <-s.closing:
		return net.ErrClosed
	}
}

// usable is the error a call starting now meets before it tries: the
// socket closed or the deadline passed (as poll.FD checks first on Linux,
// even with data ready).
func (s *socket) usable(dl *deadline) error {
	select {
	case <-s.closing:
		return net.ErrClosed
	case <-dl.wait():
		return os.ErrDeadlineExceeded
	default:
		return nil
	}
}

// retry runs op until it does not would-block, waiting for ready in
// between; other gVisor errors come back as errnos.
func (s *socket) retry(ready <-chan struct{}, dl *deadline, op func() tcpip.Error) error {
	for {
		if err := s.usable(dl); err != nil {
			return err
		}
		err := op()
		if _, ok := err.(*tcpip.ErrWouldBlock); !ok {
			return errno(err)
		}
		if err := s.await(ready, dl); err != nil {
			return err
		}
	}
}

// Close releases the endpoint and wakes every blocked call with
// net.ErrClosed. Closing twice is net.ErrClosed, as on Linux.
func (s *socket) Close() error {
	err := net.ErrClosed
	s.closeOnce.Do(func() {
		close(s.closing)
		s.wq.EventUnregister(&s.readEntry)
		s.wq.EventUnregister(&s.writeEntry)
		s.ep.Close()
		s.readDL.stop()
		s.writeDL.stop()
		err = nil
	})
	return err
}

// SetDeadline sets both deadlines; for a listener the read deadline is
// Accept's.
func (s *socket) SetDeadline(t time.Time) error {
	s.readDL.set(t)
	s.writeDL.set(t)
	return nil
}

func (s *socket) SetReadDeadline(t time.Time) error {
	s.readDL.set(t)
	return nil
}

func (s *socket) SetWriteDeadline(t time.Time) error {
	s.writeDL.set(t)
	return nil
}

// LocalAddr is the bound address, 0.0.0.0 or :: with the port for every
// address (the zero AddrPort before a bind).
func (s *socket) LocalAddr() netip.AddrPort {
	a, err := s.ep.GetLocalAddress()
	if err != nil {
		return netip.AddrPort{}
	}
	ap := addrPort(a)
	if !ap.Addr().IsValid() {
		unspec := netip.IPv6Unspecified()
		if s.fam.proto == ipv4.ProtocolNumber {
			unspec = netip.IPv4Unspecified()
		}
		ap = netip.AddrPortFrom(unspec, a.Port)
	}
	return ap
}

// RemoteAddr is the connected peer (the zero AddrPort if none).
func (s *socket) RemoteAddr() netip.AddrPort {
	a, err := s.ep.GetRemoteAddress()
	if err != nil {
		return netip.AddrPort{}
	}
	return addrPort(a)
}

// SetReadBuffer and SetWriteBuffer size the endpoint's buffers, as
// SO_RCVBUF and SO_SNDBUF (gVisor clamps them to its limits).
func (s *socket) SetReadBuffer(bytes int) error {
	if bytes < 0 {
		return syscall.EINVAL
	}
	s.ep.SocketOptions().SetReceiveBufferSize(int64(bytes), true)
	return nil
}

func (s *socket) SetWriteBuffer(bytes int) error {
	if bytes < 0 {
		return syscall.EINVAL
	}
	s.ep.SocketOptions().SetSendBufferSize(int64(bytes), true)
	return nil
}
