package netstack

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// rdnssOption is an RDNSS option (RFC 8106 section 5.1).
func rdnssOption(lifetime uint32, servers ...netip.Addr) []byte {
	o := make([]byte, 8, 8+16*len(servers))
	o[0], o[1] = 25, byte(1+2*len(servers))
	binary.BigEndian.PutUint32(o[4:], lifetime)
	for _, a := range servers {
		o = append(o, a.AsSlice()...)
	}
	return o
}

// dnsslOption is a DNSSL option (RFC 8106 section 5.2), padded to 8 bytes.
func dnsslOption(lifetime uint32, names ...string) []byte {
	o := make([]byte, 8)
	o[0] = 31
	binary.BigEndian.PutUint32(o[4:], lifetime)
	for _, n := range names {
		for _, l := range strings.Split(n, ".") {
			o = append(o, byte(len(l)))
			o = append(o, l...)
		}
		o = append(o, 0)
	}
	for len(o)%8 != 0 {
		o = append(o, 0)
	}
	o[1] = byte(len(o) / 8)
	return o
}

// TestRDNSS: name servers and search domains from router advertisements
// reach OnDNS6 and DNS6 in order, a zero lifetime withdraws a server, and
// a short lifetime ends by itself.
func TestRDNSS(t *testing.T) {
	var mu sync.Mutex
	var last DNS6
	calls := 0
	na, nb := newWire()
	t.Cleanup(func() { na.shutdown(); nb.shutdown() })
	p := newStacksWith(t, na, nb, Config{OnDNS6: func(d DNS6) { mu.Lock(); last, calls = d, calls+1; mu.Unlock() }})
	is := func(want DNS6) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return last.equal(want) && p.a.DNS6().equal(want)
		}
	}
	ns1, ns2 := netip.MustParseAddr("fd00:1::53"), netip.MustParseAddr("fd00:1::54")
	na.receive(routerAdvert(raPrefix, rdnssOption(600, ns1, ns2), dnsslOption(600, "tamanet.test", "lab.tamanet.test")))
	eventually(t, "two servers and two domains", is(DNS6{Servers: []netip.Addr{ns1, ns2}, Search: []string{"tamanet.test", "lab.tamanet.test"}}))

	na.receive(routerAdvert(raPrefix, rdnssOption(0, ns1)))
	eventually(t, "the first server withdrawn", is(DNS6{Servers: []netip.Addr{ns2}, Search: []string{"tamanet.test", "lab.tamanet.test"}}))

	na.receive(routerAdvert(raPrefix, dnsslOption(1, "lab.tamanet.test")))
	eventually(t, "a domain's one-second lifetime over", is(DNS6{Servers: []netip.Addr{ns2}, Search: []string{"tamanet.test"}}))
	if s := p.a.NDPStats(); s.DNSChanges < 3 {
		t.Errorf("NDP stats %+v: want 3 DNS changes at least", s)
	}
}

// TestRefresh: RFC 8106's lifetime rules on the record itself.
func TestRefresh(t *testing.T) {
	now := time.Unix(1000, 0)
	var l []expiring[string]
	l = refresh(l, []string{"a", "b"}, time.Minute, now)
	l = refresh(l, []string{"c"}, header.NDPInfiniteLifetime, now)
	l = refresh(l, []string{"a"}, 2*time.Minute, now) // extended, order kept
	l = refresh(l, []string{"x", "b"}, 0, now)        // unknown ignored, known removed
	l, vs, next := live(l, now.Add(90*time.Second))
	if !slices.Equal(vs, []string{"a", "c"}) || !next.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("live: %v, next %v", vs, next)
	}
	if _, vs, next = live(l, now.Add(time.Hour)); !slices.Equal(vs, []string{"c"}) || !next.IsZero() {
		t.Fatalf("after an hour: %v, next %v", vs, next)
	}
}
