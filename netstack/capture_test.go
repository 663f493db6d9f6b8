package netstack

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"tamanet/netif/capture"
)

// pcapRecord is one packet of a pcap stream, as the test reads it back.
type pcapRecord struct {
	inclLen, origLen uint32
	data             []byte
}

// readPcap parses a classic pcap stream: the file header (returning its
// snaplen and link type) and every record.
func readPcap(t *testing.T, b []byte) (snaplen, linktype uint32, recs []pcapRecord) {
	t.Helper()
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("no pcap header: % x", b[:min(len(b), 24)])
	}
	snaplen, linktype = binary.LittleEndian.Uint32(b[16:]), binary.LittleEndian.Uint32(b[20:])
	for r := b[24:]; len(r) > 0; {
		if len(r) < 16 {
			t.Fatalf("truncated record header: %d bytes left", len(r))
		}
		incl, orig := binary.LittleEndian.Uint32(r[8:]), binary.LittleEndian.Uint32(r[12:])
		if int(incl) > len(r)-16 {
			t.Fatalf("record of %d bytes with %d left", incl, len(r)-16)
		}
		recs = append(recs, pcapRecord{incl, orig, r[16 : 16+incl]})
		r = r[16+incl:]
	}
	return snaplen, linktype, recs
}

// pinger pings b from a every period until stop is closed.
func pinger(p *pair, period time.Duration, stop chan struct{}) {
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(period):
			}
			ping(p.a, addrB.Addr(), bytes.Repeat([]byte("x"), 1000))
		}
	}()
}

// TestCapturePacketLimitAndSnapLen captures 20 packets, cut at 100 bytes,
// while A pings B. Records are IP packets of either version: besides the
// pings, the wire carries both stacks' router solicitations (IPv6, sent
// within a second of start).
func TestCapturePacketLimitAndSnapLen(t *testing.T) {
	p, _, _ := newFakePair(t)
	stop := make(chan struct{})
	defer close(stop)
	pinger(p, 0, stop)
	var out bytes.Buffer
	flushes := 0
	res, err := p.a.CapturePoint().Run(context.Background(), &out, func() { flushes++ },
		capture.Options{Packets: 20, Duration: time.Minute, SnapLen: 100})
	if err != nil || res.Packets != 20 || res.Stopped != "packets" {
		t.Fatalf("result %+v, %v", res, err)
	}
	snaplen, linktype, recs := readPcap(t, out.Bytes())
	if snaplen != 100 || linktype != 101 || len(recs) != 20 || flushes == 0 {
		t.Fatalf("snaplen %d linktype %d, %d records, %d flushes", snaplen, linktype, len(recs), flushes)
	}
	big := 0
	for _, r := range recs {
		if v := r.data[0] >> 4; r.inclLen > 100 || r.inclLen > r.origLen || v != 4 && v != 6 {
			t.Errorf("record incl %d orig %d version %d", r.inclLen, r.origLen, r.data[0]>>4)
		}
		if r.origLen > 1000 {
			big++
		}
	}
	if big == 0 {
		t.Error("no 1000-byte ping in the capture")
	}
	if c := p.a.Stats().Netif; c.Captures != 1 || c.CapturePackets != 20 {
		t.Errorf("counters %+v", c)
	}
}

func TestCaptureDurationAndCancel(t *testing.T) {
	p, _, _ := newFakePair(t)
	var out bytes.Buffer
	start := time.Now()
	res, err := p.a.CapturePoint().Run(context.Background(), &out, nil,
		capture.Options{Packets: capture.MaxPackets, Duration: 200 * time.Millisecond, SnapLen: capture.MaxSnapLen})
	if err != nil || res.Stopped != "duration" || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("result %+v, %v after %v", res, err, time.Since(start))
	}
	readPcap(t, out.Bytes())

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	res, err = p.a.CapturePoint().Run(ctx, io.Discard, nil, capture.Options{Packets: 10, Duration: time.Minute, SnapLen: 64})
	if err != nil || res.Stopped != "cancelled" {
		t.Fatalf("cancelled capture: %+v, %v", res, err)
	}
}

// TestCaptureExcludesItsConnection captures on A while B downloads from A
// over HTTP: with that connection excluded no packet of it is captured,
// but the pings are.
func TestCaptureExcludesItsConnection(t *testing.T) {
	p, _, _ := newFakePair(t)
	c := serveHTTP(t, p.a, p.b)
	c.Transport.(*http.Transport).MaxConnsPerHost = 1 // one connection to exclude
	resp, err := c.Get(url[:len("http://")] + addrA.Addr().String() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// "hello 10.0.2.2:PORT": the client end of the keep-alive connection.
	remote, err := netip.ParseAddrPort(strings.TrimPrefix(string(hello), "hello "))
	if err != nil {
		t.Fatalf("%q: %v", hello, err)
	}
	local := netip.AddrPortFrom(addrA.Addr(), 80)

	stop := make(chan struct{})
	defer close(stop)
	pinger(p, 5*time.Millisecond, stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := fetchSum(c, "http://"+addrA.Addr().String(), 1, 64<<10); err != nil {
				return
			}
		}
	}()
	var out bytes.Buffer
	res, err := p.a.CapturePoint().Run(context.Background(), &out, nil, capture.Options{
		Packets: 20, Duration: time.Minute, SnapLen: 128, ExcludeLocal: local, ExcludeRemote: remote})
	_, _, recs := readPcap(t, out.Bytes())
	if err != nil || res.Packets != 20 || res.Excluded == 0 {
		t.Fatalf("result %+v, %v", res, err)
	}
	for i, r := range recs {
		// Records are cut to 128 bytes: parse the header of a copy whose
		// IP length fits.
		if src, dst, ok := tcpEnds(uncut(r)); ok && (src == remote || dst == remote) {
			t.Fatalf("record %d is of the excluded connection: %v -> %v", i, src, dst)
		}
	}
}

// tcpEnds returns the source and destination of the TCP segment in an
// IP packet, decoded by gopacket.
func tcpEnds(b []byte) (src, dst netip.AddrPort, ok bool) {
	first := layers.LayerTypeIPv4
	if b[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	pkt := gopacket.NewPacket(b, first, gopacket.Default)
	tcp, isTCP := pkt.TransportLayer().(*layers.TCP)
	if !isTCP || pkt.NetworkLayer() == nil {
		return src, dst, false
	}
	flow := pkt.NetworkLayer().NetworkFlow()
	s, _ := netip.AddrFromSlice(flow.Src().Raw())
	d, _ := netip.AddrFromSlice(flow.Dst().Raw())
	return netip.AddrPortFrom(s, uint16(tcp.SrcPort)), netip.AddrPortFrom(d, uint16(tcp.DstPort)), true
}

// uncut pads a truncated record to its original length, so its IP header
// parses.
func uncut(r pcapRecord) []byte {
	b := make([]byte, r.origLen)
	copy(b, r.data)
	return b
}
