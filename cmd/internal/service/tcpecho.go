package service

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"tamanet/lattrace"
)

// ServeTCPEcho accepts connections on ln and echoes every byte back (RFC 862)
// until the peer closes. Like http.Server.Serve it retries temporary accept
// errors with a backoff and returns on any other; it returns nil once ln is
// closed (net.ErrClosed). The caller owns ln.
func (s *Service) ServeTCPEcho(ln net.Listener) error {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if stop, ret := serveError(err, &s.c.acceptErrors, &backoff); stop {
				return ret
			}
			continue
		}
		backoff = 0
		s.c.tcpConns.Add(1)
		s.c.tcpConnsOpen.Add(1)
		go s.echoTCP(c)
	}
}

func (s *Service) echoTCP(c net.Conn) {
	defer s.c.tcpConnsOpen.Add(^uint64(0))
	defer c.Close()
	bp := echoBufs.Get().(*[]byte)
	defer echoBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := c.Read(buf)
		if n > 0 {
			lattrace.Record(lattrace.KindHandlerStart, lattrace.HandlerTCPEcho)
			ok := writeCounted(c, buf[:n], &s.c.tcpBytes, &s.c.tcpErrors)
			lattrace.Record(lattrace.KindHandlerEnd, lattrace.HandlerTCPEcho)
			if !ok {
				return
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				s.c.tcpErrors.Add(1)
			}
			return
		}
	}
}

// temporary reports whether err says to try again (a timeout, or an error
// that marks itself temporary, as accept(2)'s EMFILE does).
// serveError decides what a serve loop does after err from Accept or
// ReadFrom: stop with nil once the listener is closed, stop with err unless
// it is temporary, else count it and back off before the next try.
func serveError(err error, errs *atomic.Uint64, backoff *time.Duration) (stop bool, ret error) {
	if errors.Is(err, net.ErrClosed) {
		return true, nil
	}
	errs.Add(1)
	if !temporary(err) {
		return true, err
	}
	*backoff = nextBackoff(*backoff)
	time.Sleep(*backoff)
	return false, nil
}

func temporary(err error) bool {
	var t interface{ Temporary() bool }
	var ne net.Error
	return (errors.As(err, &t) && t.Temporary()) || (errors.As(err, &ne) && ne.Timeout())
}

// nextBackoff doubles d from 5 ms up to 1 s.
func nextBackoff(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return 5 * time.Millisecond
	case d >= time.Second/2:
		return time.Second
	}
	return 2 * d
}
