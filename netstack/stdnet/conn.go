package stdnet

import (
	"bytes"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// Conn is a connected TCP socket.
type Conn struct {
	socket
	in  tcpip.SliceWriter // Read's destination, reused (under readMu)
	out bytes.Reader      // Write's source, reused (under writeMu)
}

// Read reads what has arrived, waiting for some if nothing has; io.EOF
// once the peer has closed its side and everything was read.
func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, c.usable(&c.readDL)
	}
	c.readMu.Lock()
	defer c.readMu.Unlock()
	var n int
	err := c.retry(c.readable, &c.readDL, func() tcpip.Error {
		c.in = b
		res, err := c.ep.Read(&c.in, tcpip.ReadOptions{})
		n = res.Count
		return err
	})
	c.in = nil
	return n, err
}

// Write writes all of b unless an error or the deadline stops it first.
func (c *Conn) Write(b []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.out.Reset(b)
	defer c.out.Reset(nil)
	if len(b) == 0 {
		return 0, c.usable(&c.writeDL)
	}
	for c.out.Len() > 0 {
		err := c.retry(c.writable, &c.writeDL, func() tcpip.Error {
			_, err := c.ep.Write(&c.out, tcpip.WriteOptions{})
			return err
		})
		if err != nil {
			return len(b) - c.out.Len(), err
		}
	}
	return len(b), nil
}

// CloseRead and CloseWrite shut one direction down.
func (c *Conn) CloseRead() error  { return errno(c.ep.Shutdown(tcpip.ShutdownRead)) }
func (c *Conn) CloseWrite() error { return errno(c.ep.Shutdown(tcpip.ShutdownWrite)) }

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(noDelay bool) error {
	c.ep.SocketOptions().SetDelayOption(!noDelay)
	return nil
}

// SetLinger: a negative sec closes in the background (the default), zero
// resets the connection on Close, a positive one lingers that long.
func (c *Conn) SetLinger(sec int) error {
	c.ep.SocketOptions().SetLinger(tcpip.LingerOption{Enabled: sec >= 0, Timeout: time.Duration(max(sec, 0)) * time.Second})
	return nil
}

// SetKeepAlive turns keep-alive probes on or off.
func (c *Conn) SetKeepAlive(enable bool) error {
	c.ep.SocketOptions().SetKeepAlive(enable)
	return nil
}

// SetKeepAliveIdle is the idle time before the first probe.
func (c *Conn) SetKeepAliveIdle(d time.Duration) error {
	opt := tcpip.KeepaliveIdleOption(d)
	return errno(c.ep.SetSockOpt(&opt))
}

// SetKeepAliveInterval is the time between probes.
func (c *Conn) SetKeepAliveInterval(d time.Duration) error {
	opt := tcpip.KeepaliveIntervalOption(d)
	return errno(c.ep.SetSockOpt(&opt))
}

// SetKeepAliveCount is the number of unanswered probes that end the
// connection.
func (c *Conn) SetKeepAliveCount(n int) error {
	return errno(c.ep.SetSockOptInt(tcpip.KeepaliveCountOption, n))
}
