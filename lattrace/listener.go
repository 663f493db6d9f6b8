package lattrace

import "net"

// Listener wraps l so that its connections record a KindAppRead event
// (argument: the bytes read) for each read that returns data to the
// application: between the driver's delivery of a segment and the
// handler's start it splits the stack's work from the application's
// (parsing the request).
func Listener(l net.Listener) net.Listener { return tracedListener{l} }

type tracedListener struct{ net.Listener }

func (l tracedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tracedConn{c}, nil
}

type tracedConn struct{ net.Conn }

func (c tracedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		Record(KindAppRead, uint32(n))
	}
	return n, err
}
