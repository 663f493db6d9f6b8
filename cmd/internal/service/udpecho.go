package service

import (
	"net"
	"time"

	"tamanet/lattrace"
)

// udpBufSize holds the largest UDP payload over IPv4.
const udpBufSize = 64 << 10

// ServeUDPEcho echoes every datagram received on pc back to its sender
// (RFC 862). A failed reply is counted and the loop goes on; read errors are
// handled as in ServeTCPEcho. It returns nil once pc is closed. The caller
// owns pc.
func (s *Service) ServeUDPEcho(pc net.PacketConn) error {
	buf := make([]byte, udpBufSize)
	var backoff time.Duration
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if stop, ret := serveError(err, &s.c.udpErrors, &backoff); stop {
				return ret
			}
			continue
		}
		backoff = 0
		lattrace.Record(lattrace.KindHandlerStart, lattrace.HandlerUDPEcho)
		// Counted before the reply leaves, and taken back if it fails.
		s.c.udpPackets.Add(1)
		s.c.udpBytes.Add(uint64(n))
		_, err = pc.WriteTo(buf[:n], addr)
		lattrace.Record(lattrace.KindHandlerEnd, lattrace.HandlerUDPEcho)
		if err != nil {
			s.c.udpPackets.Add(^uint64(0))
			s.c.udpBytes.Add(-uint64(n))
			s.c.udpErrors.Add(1)
		}
	}
}
