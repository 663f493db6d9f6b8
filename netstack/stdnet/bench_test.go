package stdnet

import (
	"io"
	"net/netip"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// BenchmarkConnect: a connection set up, one byte each way, torn down,
// through this package and, for comparison, gVisor's gonet adapter.
func BenchmarkConnect(b *testing.B) {
	b.Run("stdnet", func(b *testing.B) {
		st := newLoopback(b)
		l, err := st.ListenTCP("tcp4", netip.MustParseAddrPort("127.0.0.1:80"))
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		accept := func() (io.ReadWriteCloser, error) { return l.Accept() }
		dial := func() (io.ReadWriteCloser, error) {
			return st.DialTCP(bg, "tcp4", netip.AddrPort{}, l.LocalAddr())
		}
		benchConnect(b, accept, dial)
	})
	b.Run("gonet", func(b *testing.B) {
		st := newLoopback(b)
		addr := tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 80}
		l, err := gonet.ListenTCP(st.s, addr, ipv4.ProtocolNumber)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		accept := func() (io.ReadWriteCloser, error) { return l.Accept() }
		dial := func() (io.ReadWriteCloser, error) { return gonet.DialContextTCP(bg, st.s, addr, ipv4.ProtocolNumber) }
		benchConnect(b, accept, dial)
	})
}

// benchConnect serves accept's connections (one byte back, then close)
// and times dial's.
func benchConnect(b *testing.B, accept, dial func() (io.ReadWriteCloser, error)) {
	go func() {
		for {
			c, err := accept()
			if err != nil {
				return
			}
			var one [1]byte
			io.ReadFull(c, one[:])
			c.Write(one[:])
			c.Close()
		}
	}()
	for b.Loop() {
		c, err := dial()
		if err != nil {
			b.Fatal(err)
		}
		var one [1]byte
		c.Write(one[:])
		io.ReadFull(c, one[:])
		c.Close()
	}
}
