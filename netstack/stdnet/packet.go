package stdnet

import (
	"bytes"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// PacketConn is a UDP socket; Read and Write are for a connected one.
type PacketConn struct {
	socket
	in  tcpip.SliceWriter // under readMu
	out bytes.Reader      // under writeMu
}

// ReadFrom reads one datagram, waiting for one if none has arrived; a
// datagram longer than b is cut to it, the rest lost (as on Linux).
func (c *PacketConn) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	var res tcpip.ReadResult
	err := c.retry(c.readable, &c.readDL, func() tcpip.Error {
		c.in = b
		var err tcpip.Error
		res, err = c.ep.Read(&c.in, tcpip.ReadOptions{NeedRemoteAddr: true})
		return err
	})
	c.in = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	return res.Count, addrPort(res.RemoteAddr), nil
}

// Read reads one datagram from the connected peer.
func (c *PacketConn) Read(b []byte) (int, error) {
	n, _, err := c.ReadFrom(b)
	return n, err
}

// WriteTo sends b as one datagram to addr.
func (c *PacketConn) WriteTo(b []byte, addr netip.AddrPort) (int, error) {
	to := c.fam.full(addr, c.nic)
	return c.send(b, &to)
}

// Write sends b as one datagram to the connected peer.
func (c *PacketConn) Write(b []byte) (int, error) {
	return c.send(b, nil)
}

func (c *PacketConn) send(b []byte, to *tcpip.FullAddress) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	defer c.out.Reset(nil)
	var n int64
	err := c.retry(c.writable, &c.writeDL, func() tcpip.Error {
		c.out.Reset(b) // a datagram goes whole or not at all
		var err tcpip.Error
		n, err = c.ep.Write(&c.out, tcpip.WriteOptions{To: to})
		return err
	})
	return int(n), err
}
