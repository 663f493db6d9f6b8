package netstack

import (
	"bytes"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"

	"tamanet/txframe"
)

// TestE1000CorruptFramesDropped damages frames on the wire between two
// stacks whose device checksum verdicts are withheld (as on QEMU), with GRO
// on: TCP payload bytes, IPv4 header bytes and UDP payload bytes. Every
// damaged frame must be caught by a checksum (netif's before GRO, the
// stack's for the rest) and never delivered: the TCP transfers stay exact
// through retransmission, and the damaged UDP datagram never arrives while
// its good twin does. A UDP datagram larger than the MTU (IP fragments,
// checksummed by gVisor since netif claims no TX checksum offload) arrives
// whole.
func TestE1000CorruptFramesDropped(t *testing.T) {
	p, na, nb := newE1000PairWith(t, Config{}, false)
	var tcpHit, ipHit, udpHit atomic.Uint64
	var seen uint64
	na.m.SetTransmitHandler(func(f []byte) {
		g := bytes.Clone(f)
		if len(g) > 14+20+8 && header.Ethernet(g).Type() == header.IPv4ProtocolNumber {
			ip := header.IPv4(g[14:])
			switch {
			case ip.Protocol() == 6 && len(g) > 1000:
				seen++
				switch seen % 499 {
				case 13:
					g[len(g)-7] ^= 0x20 // payload bit: only the TCP checksum sees it
					tcpHit.Add(1)
				case 250:
					g[14+8]-- // TTL: only the IP header checksum sees it
					ipHit.Add(1)
				}
			case ip.Protocol() == 17 && bytes.Contains(g, []byte("damage me")):
				g[bytes.Index(g, []byte("damage me"))] ^= 1
				udpHit.Add(1)
			}
		}
		_ = nb.m.Receive(g)
	})

	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 8<<20)

	srv, err := p.b.ListenUDP(9)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := p.a.ListenUDP(10)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	to := &net.UDPAddr{IP: addrB.Addr().AsSlice(), Port: 9}
	big := bytes.Repeat([]byte("fragmented datagram "), 200) // 4000 bytes: three IPv4 fragments
	for _, msg := range [][]byte{[]byte("damage me, 0"), []byte("intact, 1"), big} {
		if _, err := cli.WriteTo(msg, to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 8192)
	var got [][]byte
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 2 {
		n, _, err := srv.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(got), err)
		}
		got = append(got, bytes.Clone(buf[:n]))
	}
	if string(got[0]) != "intact, 1" || !bytes.Equal(got[1], big) {
		t.Errorf("datagrams received %q..., want the intact one and the fragmented one", got[0])
	}

	stack := p.b.Stats().Stack
	if tcpHit.Load() == 0 || ipHit.Load() == 0 || udpHit.Load() != 1 {
		t.Fatalf("damaged %d TCP, %d IP, %d UDP frames: the test did not exercise all", tcpHit.Load(), ipHit.Load(), udpHit.Load())
	}
	if stack.TCP.ChecksumErrors.Value() < tcpHit.Load() || stack.UDP.ChecksumErrors.Value() != 1 ||
		stack.IP.MalformedPacketsReceived.Value() < ipHit.Load() {
		t.Errorf("damage not caught: TCP checksum errors %d of %d, IP malformed %d of %d, UDP %d of 1",
			stack.TCP.ChecksumErrors.Value(), tcpHit.Load(), stack.IP.MalformedPacketsReceived.Value(), ipHit.Load(), stack.UDP.ChecksumErrors.Value())
	}
	if nc := p.b.Endpoint().Counters(); nc.RxGROOut*2 > nc.RxGROIn {
		t.Errorf("GRO merged little: %+v", nc)
	}
}

// TestE1000SoftGSO forces netif's software segmentation (a driver offering
// checksum offload but no TSO): the transfer must be exact, every GSO packet
// cut by netif, and the receiver find no bad checksum.
func TestE1000SoftGSO(t *testing.T) {
	na, nb := newE1000Wire(t)
	a, err := NewStack(noTSO{noRxCsum{na.d}}, Config{Addr: addrA, Gateway: addrB.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewStack(noRxCsum{nb.d}, Config{Addr: addrB, Gateway: addrA.Addr()})
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	c := serveHTTP(t, a, b) // A serves: downloads flow A -> B
	transferBothWays(t, c, "http://"+addrA.Addr().String()+":80", 8<<20)
	nc := a.Endpoint().Counters()
	if nc.TxSoftGSO == 0 || nc.TxTSO != 0 || nc.TxSoftSegments < 4*nc.TxSoftGSO {
		t.Errorf("software GSO not used as expected: %+v", nc)
	}
	if e := b.Stats().Stack.TCP.ChecksumErrors.Value(); e != 0 {
		t.Errorf("%d TCP checksum errors", e)
	}
	if ms := na.m.Stats(); ms.TxTSOContexts != 0 || ms.TxChecksums == 0 {
		t.Errorf("model did TSO %d times, %d checksums", ms.TxTSOContexts, ms.TxChecksums)
	}
}

// noTSO hides the device's TSO.
type noTSO struct{ noRxCsum }

// TxCapabilities implements netif.Driver.
func (n noTSO) TxCapabilities() txframe.Capabilities {
	c := n.Device.TxCapabilities()
	c.Features &^= txframe.TSOv4 | txframe.TSOv6
	c.TSOMaxSize = 0
	return c
}
