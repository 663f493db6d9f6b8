// Package sntptest is an SNTP server for tests (RFC 4330 section 6): it
// answers each request with its clock's time as a stratum-2 server, and a
// test may reshape each reply (break it, repeat it, drop it). It encodes
// timestamps itself, independently of package sntp, so that the client is
// checked against a second reading of the RFC.
package sntptest

import (
	"encoding/binary"
	"net"
	"sync"
	"time"
)

// Server answers SNTP requests on a UDP socket.
type Server struct {
	pc    net.PacketConn
	clock func() time.Time
	shape func(req, reply []byte) [][]byte

	mu       sync.Mutex
	requests [][]byte
}

// Serve answers the requests arriving on pc until it is closed. clock is
// the server's time; shape, if not nil, turns the correct reply to req
// into the datagrams sent back (none, one edited, several).
func Serve(pc net.PacketConn, clock func() time.Time, shape func(req, reply []byte) [][]byte) *Server {
	s := &Server{pc: pc, clock: clock, shape: shape}
	go s.serve()
	return s
}

// Addr is the address the server answers on.
func (s *Server) Addr() net.Addr { return s.pc.LocalAddr() }

// Requests returns the requests received so far.
func (s *Server) Requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.requests...)
}

func (s *Server) serve() {
	buf := make([]byte, 512)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if n < 48 {
			continue
		}
		req := append([]byte(nil), buf[:n]...)
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		out := [][]byte{s.reply(req)}
		if s.shape != nil {
			out = s.shape(req, out[0])
		}
		for _, b := range out {
			s.pc.WriteTo(b, from)
		}
	}
}

// reply is a stratum-2 server's reply to req: no leap warning, version 4,
// mode 4, the request's transmit timestamp as the originate timestamp,
// and the clock's time as both receive and transmit timestamps.
func (s *Server) reply(req []byte) []byte {
	b := make([]byte, 48)
	b[0] = 4<<3 | 4
	b[1] = 2                   // stratum
	copy(b[12:16], "GPS\x00")  // reference identifier
	copy(b[24:32], req[40:48]) // originate = the request's transmit
	ts := timestamp(s.clock()) // receive and transmit
	binary.BigEndian.PutUint64(b[32:], ts)
	binary.BigEndian.PutUint64(b[40:], ts)
	return b
}

// timestamp is t as an NTP timestamp: seconds since 1900 modulo 2^32 (the
// era number is dropped, RFC 4330 section 3) and a 32-bit fraction.
func timestamp(t time.Time) uint64 {
	const unixToNTP = 2208988800 // seconds from 1900 to 1970
	sec := uint64(t.Unix() + unixToNTP)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}
