package netstack

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"tamanet/expose"
)

const url = "http://10.0.2.2:80"

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Addr: netip.MustParsePrefix("fd00::1/64")},
		{Gateway: netip.MustParseAddr("10.0.3.1")},
		{Addr: netip.MustParsePrefix("192.168.1.10/24")}, // default gateway outside
		{TxQueueLen: -1},
	} {
		na, _ := newWire()
		if st, err := NewStack(na, cfg); err == nil {
			st.Close()
			t.Errorf("NewStack(%+v) succeeded, want error", cfg)
		}
	}
}

func TestEndpointIdentity(t *testing.T) {
	p, na, _ := newFakePair(t)
	info := p.a.Netstack().NICInfo()[NICID]
	if got, want := info.LinkAddress, tcpip.LinkAddress(na.mac[:]); got != want {
		t.Errorf("NIC link address %v, want %v", got, want)
	}
	if info.MTU != 1500 {
		t.Errorf("NIC MTU %d, want 1500", info.MTU)
	}
	if info.ARPHardwareType != header.ARPHardwareEther {
		t.Errorf("ARP hardware type %d, want Ethernet", info.ARPHardwareType)
	}
	if !p.a.Endpoint().IsAttached() || !p.a.Netstack().CheckNIC(NICID) {
		t.Errorf("endpoint attached %v, NIC enabled %v; want both", p.a.Endpoint().IsAttached(), p.a.Netstack().CheckNIC(NICID))
	}
	// EUI-64: flip the U/L bit of the first octet, insert ff:fe.
	if got, want := p.a.LinkLocal(), netip.MustParseAddr("fe80::5054:ff:fe12:3401"); got != want {
		t.Errorf("link-local %v, want %v", got, want)
	}
}

func TestARPAndPing(t *testing.T) {
	p, _, nb := newFakePair(t)
	if err := ping(p.a, addrB.Addr(), []byte("ping over the wire")); err != nil {
		t.Fatal(err)
	}
	neigh, terr := p.a.Netstack().Neighbors(NICID, ipv4.ProtocolNumber)
	if terr != nil {
		t.Fatal(terr)
	}
	found := false
	for _, n := range neigh {
		if n.Addr == tcpip.AddrFrom4(addrB.Addr().As4()) {
			found = n.LinkAddr == tcpip.LinkAddress(nb.mac[:])
		}
	}
	if !found {
		t.Errorf("A's neighbour table %+v lacks 10.0.2.2 -> %x", neigh, nb.mac)
	}
	sa, sb := p.a.Stats().Stack, p.b.Stats().Stack
	for _, c := range []struct {
		stat *tcpip.StatCounter
		name string
	}{
		{sa.ARP.OutgoingRequestsSent, "A ARP.OutgoingRequestsSent"},
		{sb.ARP.OutgoingRepliesSent, "B ARP.OutgoingRepliesSent"},
		{sb.ICMP.V4.PacketsReceived.EchoRequest, "B ICMP.V4.PacketsReceived.EchoRequest"},
		{sa.ICMP.V4.PacketsReceived.EchoReply, "A ICMP.V4.PacketsReceived.EchoReply"},
	} {
		if c.stat.Value() == 0 {
			t.Errorf("%s = 0, want > 0", c.name)
		}
	}
	// IPv6 over the EUI-64 link-local addresses, once DAD has finished.
	eventually(t, "ICMPv6 echo to B's link-local address", func() bool {
		return ping(p.a, p.b.LinkLocal(), []byte("ping6")) == nil
	})
}

func TestHTTP(t *testing.T) {
	p, _, _ := newFakePair(t)
	c := serveHTTP(t, p.b, p.a)
	resp, err := c.Get(url + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello 10.0.2.15:"; !strings.HasPrefix(string(body), want) {
		t.Errorf("body %q, want prefix %q", body, want)
	}
}

func TestLargeTransfer(t *testing.T) {
	p, _, nb := newFakePair(t)
	nb.csumOK = true // B's device claims to have verified checksums
	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 20<<20)
	if n := p.a.Stats().Stack.TCP.ChecksumErrors.Value(); n != 0 {
		t.Errorf("TCP checksum errors on A: %d", n)
	}
	ca, cb := p.a.Endpoint().Counters(), p.b.Endpoint().Counters()
	if ca.TxDrops() != 0 || cb.TxDrops() != 0 {
		t.Errorf("tx drops A %d B %d, want 0", ca.TxDrops(), cb.TxDrops())
	}
	if cb.RxCsumOK != cb.RxFrames || ca.RxCsumOK != 0 {
		t.Errorf("RxCsumOK A %d (want 0), B %d (want %d)", ca.RxCsumOK, cb.RxCsumOK, cb.RxFrames)
	}
	t.Logf("A: %+v", ca)
}

// TestBackpressureUDP stalls A's driver, sends datagrams, and checks that
// every one arrives, in order, once the driver accepts frames again.
func TestBackpressureUDP(t *testing.T) {
	p, na, _ := newFakePair(t)
	if err := ping(p.a, addrB.Addr(), nil); err != nil { // resolve ARP first
		t.Fatal(err)
	}
	rc, err := p.b.ListenUDP(9000)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc, err := p.a.ListenUDP(9001)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()

	na.setStalled(true)
	eventually(t, "A's ring to drain", func() bool { return na.ringLen() == 0 })
	before := p.b.Endpoint().Counters().RxFrames
	const count = 300
	dst := &net.UDPAddr{IP: net.IP(addrB.Addr().AsSlice()), Port: 9000}
	msg := make([]byte, 64)
	for i := range count {
		binary.BigEndian.PutUint32(msg, uint32(i))
		if _, err := sc.WriteTo(msg, dst); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	eventually(t, "a backpressure event", func() bool {
		return p.a.Endpoint().Counters().TxBackpressure > 0
	})
	if got := p.b.Endpoint().Counters().RxFrames; got != before {
		t.Fatalf("B received %d frames while A's driver accepted none", got-before)
	}
	na.setStalled(false)

	buf := make([]byte, 128)
	for i := range count {
		rc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := rc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if n != len(msg) || binary.BigEndian.Uint32(buf) != uint32(i) {
			t.Fatalf("datagram %d: got seq %d len %d", i, binary.BigEndian.Uint32(buf), n)
		}
	}
	ca := p.a.Endpoint().Counters()
	sa, sb := p.a.Stats().Stack, p.b.Stats().Stack
	qdisc, udpBuf := sa.NICs.TxPacketsDroppedNoBufferSpace.Value(), sb.UDP.ReceiveBufferErrors.Value()
	if ca.TxDrops() != 0 || qdisc != 0 || udpBuf != 0 {
		t.Errorf("losses: netif tx drops %d, qdisc drops %d, B UDP buffer errors %d", ca.TxDrops(), qdisc, udpBuf)
	}
}

// TestBackpressureTCP stalls both drivers on and off during transfers.
func TestBackpressureTCP(t *testing.T) {
	p, na, nb := newFakePair(t)
	c := serveHTTP(t, p.b, p.a)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				na.setStalled(false)
				nb.setStalled(false)
				return
			case <-time.After(3 * time.Millisecond):
			}
			na.setStalled(true)
			nb.setStalled(true)
			time.Sleep(2 * time.Millisecond)
			na.setStalled(false)
			nb.setStalled(false)
		}
	}()
	transferBothWays(t, c, url, 4<<20)
	close(stop)
	wg.Wait()
	ca, cb := p.a.Endpoint().Counters(), p.b.Endpoint().Counters()
	if ca.TxBackpressure == 0 || cb.TxBackpressure == 0 {
		t.Errorf("backpressure events A %d B %d, want both > 0", ca.TxBackpressure, cb.TxBackpressure)
	}
	if ca.TxDrops() != 0 || cb.TxDrops() != 0 {
		t.Errorf("tx drops A %d B %d, want 0", ca.TxDrops(), cb.TxDrops())
	}
}

// TestLinkFlap takes carrier away in the middle of a TCP stream: the NICs
// are disabled, nothing crosses, and the stream completes intact after
// carrier returns, with ARP resolved anew.
func TestLinkFlap(t *testing.T) {
	p, na, nb := newFakePair(t)
	flap(t, p, func(up bool) { setLink(up, na, nb) },
		func() uint64 { return p.b.Endpoint().Counters().RxFrames })
}

// flap is the link flap scenario over any pair of drivers; setLink
// changes carrier on both, and crossed counts the frames that have crossed
// the wire into B (for a driver with a receive ring, those written to it:
// frames already there when carrier goes are still delivered).
func flap(t *testing.T, p *pair, setLink func(up bool), crossed func() uint64) {
	l, err := p.b.ListenTCP(7000)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sums := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			sums <- err.Error()
			return
		}
		defer conn.Close()
		sum, _, err := sumOf(conn)
		if err != nil {
			sum = err.Error()
		}
		conn.Write([]byte(sum))
	}()
	conn, err := p.a.DialTCP(context.Background(), netip.AddrPortFrom(addrB.Addr(), 7000))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	const half = 1 << 20
	data, _ := io.ReadAll(blob(3, 2*half))
	if _, err := conn.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	arpBefore := p.a.Stats().Stack.ARP.OutgoingRequestsSent.Value()

	setLink(false)
	eventually(t, "NICs disabled", func() bool {
		return !p.a.Netstack().CheckNIC(NICID) && !p.b.Netstack().CheckNIC(NICID)
	})
	rxBefore := crossed()
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Write(data[half:])
		wrote <- err
	}()
	// Whatever A tries while carrier is down must not reach B.
	time.Sleep(100 * time.Millisecond)
	if got := crossed(); got != rxBefore {
		t.Errorf("%d frames reached B with carrier down", got-rxBefore)
	}
	ca := p.a.Endpoint().Counters()
	if ca.Carrier || ca.LinkDown != 1 || ca.LinkUp != 0 {
		t.Errorf("A link counters after down: %+v", ca)
	}

	setLink(true)
	eventually(t, "NICs enabled", func() bool {
		return p.a.Netstack().CheckNIC(NICID) && p.b.Netstack().CheckNIC(NICID)
	})
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	conn.(interface{ CloseWrite() error }).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := sumOf(bytes.NewReader(data))
	if string(got) != want {
		t.Errorf("sha256 after flap %q, want %s", got, want)
	}
	ca = p.a.Endpoint().Counters()
	if !ca.Carrier || ca.LinkDown != 1 || ca.LinkUp != 1 {
		t.Errorf("A link counters after up: %+v", ca)
	}
	if p.a.Stats().Stack.ARP.OutgoingRequestsSent.Value() <= arpBefore {
		t.Errorf("no ARP request after the flap flushed the neighbour cache")
	}
}

// TestCountersMatch checks that what one side's netif sent is what the
// other's received, and that netif agrees with gVisor's counters for its
// NIC, with traffic on A's loopback NIC as well, which netif never sees.
func TestCountersMatch(t *testing.T) {
	p, na, nb := newFakePair(t)
	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 1<<20)
	c.CloseIdleConnections()
	echoOverLoopback(t, p.a)
	eventually(t, "counters to agree", func() bool {
		return countersAgree(p.a, p.b, na) == "" && countersAgree(p.b, p.a, nb) == ""
	})
}

// echoOverLoopback has st echo a few bytes to itself through 127.0.0.1.
func echoOverLoopback(t *testing.T, st *Stack) {
	l, err := st.ListenTCP(7001)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if conn, err := l.Accept(); err == nil {
			io.Copy(conn, conn)
			conn.Close()
		}
	}()
	conn, err := st.DialTCP(context.Background(), netip.MustParseAddrPort("127.0.0.1:7001"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("over lo"))
	conn.(interface{ CloseWrite() error }).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(conn); string(got) != "over lo" {
		t.Fatalf("loopback echo %q, %v", got, err)
	}
	if lo := st.Netstack().NICInfo()[LoopbackNICID].Stats.Tx.Packets.Value(); lo == 0 {
		t.Fatalf("the echo did not go through the loopback NIC")
	}
}

// countersAgree compares from's transmit counters with to's receive
// counters plus what from's wire lost, and with both stacks' gVisor
// counters for the link's NIC; it describes the first mismatch, or returns
// "". The wire loses frames sent before the peer's driver is attached: a
// router solicitation that A sends on its own timer before B exists. The
// NIC's own counters, not the stack's totals (Stats.Stack.NICs): those add
// up every NIC, loopback included, whose traffic never reaches netif.
func countersAgree(from, to *Stack, wire *fakeNIC) string {
	cf, ct := from.Stats(), to.Stats()
	nf, nt := linkNICStats(from), linkNICStats(to)
	eth := uint64(header.EthernetMinimumSize)
	switch {
	case cf.Netif.TxFrames != ct.Netif.RxFrames+wire.wireLost.Load() || cf.Netif.TxBytes != ct.Netif.RxBytes+wire.wireLostBytes.Load():
		return "wire"
	case cf.Netif.TxFrames != nf.Tx.Packets.Value() || cf.Netif.TxBytes != nf.Tx.Bytes.Value():
		return "netif tx vs gVisor NIC tx"
	case ct.Netif.RxFrames != nt.Rx.Packets.Value()+nt.DisabledRx.Packets.Value():
		return "netif rx vs gVisor NIC rx packets"
	case ct.Netif.RxBytes != nt.Rx.Bytes.Value()+nt.DisabledRx.Bytes.Value()+eth*ct.Netif.RxFrames:
		return "netif rx vs gVisor NIC rx bytes"
	}
	return ""
}

// linkNICStats is gVisor's statistics for st's NIC on the link (NICID).
func linkNICStats(st *Stack) tcpip.NICStats {
	return st.Netstack().NICInfo()[NICID].Stats
}

// TestStatsModel renders the stack's statistics through tamanet/expose:
// gVisor's counters are all there under snake_case paths, and the two it
// keeps as gauges are shown as gauges only.
func TestStatsModel(t *testing.T) {
	p, _, _ := newFakePair(t)
	c := serveHTTP(t, p.b, p.a)
	transferBothWays(t, c, url, 64<<10)
	tree, err := expose.Build(p.b.Stats())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]expose.Kind{}
	for _, s := range expose.Samples(tree, "x", "") {
		kinds[s.Path] = s.Kind
	}
	for path, kind := range map[string]expose.Kind{
		"stack.dropped_packets":                         expose.KindCounter,
		"stack.ip.packets_received":                     expose.KindCounter,
		"stack.tcp.passive_connection_openings":         expose.KindCounter,
		"stack.udp.packets_received":                    expose.KindCounter,
		"stack.arp.outgoing_requests_sent":              expose.KindCounter,
		"stack.icmp.v4.packets_sent.echo_request":       expose.KindCounter,
		"stack.icmp.v6.packets_sent.neighbor_solicit":   expose.KindCounter,
		"stack.nics.tx.packets":                         expose.KindCounter,
		"stack.nics.neighbor.unreachable_entry_lookups": expose.KindCounter,
		"netif.rx_frames":                               expose.KindCounter,
		"netif.carrier":                                 expose.KindGauge,
		"tcp_connections.established":                   expose.KindGauge,
		"tcp_connections.connected":                     expose.KindGauge,
	} {
		if got, ok := kinds[path]; !ok || got != kind {
			t.Errorf("%s: kind %v (present %v), want %v", path, got, ok, kind)
		}
	}
	for _, gone := range []string{"stack.tcp.current_established", "stack.tcp.current_connected"} {
		if _, ok := kinds[gone]; ok {
			t.Errorf("%s is exposed as a counter", gone)
		}
	}
	if len(kinds) < 170 {
		t.Errorf("only %d statistics", len(kinds))
	}
	if s := p.b.Stats(); s.TCPConnections.Established == 0 || p.b.Netstack().Stats().TCP.CurrentEstablished == nil {
		t.Errorf("B has %d established connections (HTTP keep-alive), stack pointer %p",
			s.TCPConnections.Established, p.b.Netstack().Stats().TCP.CurrentEstablished)
	}
}

// TestPcap checks that the sniffer produces a pcap stream with packets.
func TestPcap(t *testing.T) {
	na, nb := newWire()
	defer na.shutdown()
	defer nb.shutdown()
	var w lockedBuffer
	a, err := NewStack(na, Config{Addr: addrA, Gateway: addrB.Addr(), Pcap: &w})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewStack(nb, Config{Addr: addrB, Gateway: addrA.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := ping(a, addrB.Addr(), []byte("captured")); err != nil {
		t.Fatal(err)
	}
	out := w.Bytes()
	if len(out) < 24 || binary.LittleEndian.Uint32(out) != 0xa1b2c3d4 {
		t.Fatalf("no pcap header in % x", out[:min(len(out), 24)])
	}
	if !bytes.Contains(out, []byte("captured")) {
		t.Errorf("echo payload not in the capture")
	}
}

// lockedBuffer is a bytes.Buffer safe for the sniffer's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// TestCloseWithStuckRing checks that a driver whose ring never drains
// cannot hang Stack.Close, and that what it could not send is counted.
func TestCloseWithStuckRing(t *testing.T) {
	na, nb := newWire()
	defer na.shutdown()
	defer nb.shutdown()
	p := newStacks(t, na, nb)
	if err := ping(p.a, addrB.Addr(), nil); err != nil {
		t.Fatal(err)
	}
	na.setStalled(true)
	sc, err := p.a.ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	sc.WriteTo([]byte("stuck"), &net.UDPAddr{IP: net.IP(addrB.Addr().AsSlice()), Port: 9})
	eventually(t, "a backpressure event", func() bool {
		return p.a.Endpoint().Counters().TxBackpressure > 0
	})
	p.a.Close()
	if c := p.a.Endpoint().Counters(); c.TxDropClosed == 0 {
		t.Errorf("TxDropClosed = 0 after closing with a stuck ring: %+v", c)
	}
}

func BenchmarkFakeWireTCP(b *testing.B) {
	p, _, _ := newFakePair(b)
	benchTCP(b, p)
}
