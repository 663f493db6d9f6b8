package stdnet

import (
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Listener is a listening TCP socket.
type Listener struct {
	socket
}

// Accept waits for the next connection, until the read deadline.
func (l *Listener) Accept() (*Conn, error) {
	l.readMu.Lock()
	defer l.readMu.Unlock()
	var (
		ep tcpip.Endpoint
		wq *waiter.Queue
	)
	err := l.retry(l.readable, &l.readDL, func() tcpip.Error {
		var err tcpip.Error
		ep, wq, err = l.ep.Accept(nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	c := new(Conn)
	c.init(ep, wq, l.fam, l.nic)
	return c, nil
}
