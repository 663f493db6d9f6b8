package dhcpclient

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// discoverFor is a client DISCOVER as the fake server sees it, to build
// replies to.
func discoverFor(t testing.TB) request {
	t.Helper()
	var d layers.DHCPv4
	b := encode(outgoing{typ: msgDiscover, xid: 0x1234, broadcast: true}, testMAC, "")
	if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	return request{typ: layers.DHCPMsgTypeDiscover, msg: &d}
}

// TestEncode: what the client sends decodes as the message it meant, with
// the options a server needs, at least BOOTP's 300 bytes.
func TestEncode(t *testing.T) {
	b := encode(outgoing{typ: msgRequest, xid: 7, secs: 3, broadcast: true,
		requested: leaseA.Addr(), server: serverAddr}, testMAC, "kv")
	var d layers.DHCPv4
	if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if len(b) < minMessageLen || d.Operation != layers.DHCPOpRequest || d.Xid != 7 || d.Secs != 3 ||
		d.Flags != flagBroadcast || !slices.Equal(d.ClientHWAddr, testMAC[:]) || !d.ClientIP.IsUnspecified() {
		t.Errorf("%d bytes: %+v", len(b), d)
	}
	opts := collect(d.Options)
	want := map[layers.DHCPOpt][]byte{
		layers.DHCPOptMessageType:   {byte(layers.DHCPMsgTypeRequest)},
		layers.DHCPOptClientID:      append([]byte{1}, testMAC[:]...),
		layers.DHCPOptRequestIP:     leaseA.Addr().AsSlice(),
		layers.DHCPOptServerID:      serverAddr.AsSlice(),
		layers.DHCPOptParamsRequest: requested,
		layers.DHCPOptHostname:      []byte("kv"),
	}
	for code, v := range want {
		if !slices.Equal(opts[code], v) {
			t.Errorf("option %v = %v, want %v", code, opts[code], v)
		}
	}
	if len(opts) != len(want) {
		t.Errorf("options %v, want %d", opts, len(want))
	}
}

// TestParseLease: what an ACK's options make of a lease.
func TestParseLease(t *testing.T) {
	r := discoverFor(t)
	opt := layers.NewDHCPOption
	gw := netip.MustParseAddr("10.0.2.1")
	for _, tc := range []struct {
		name string
		lo   leaseOpts
		want Lease
	}{
		{"defaults for T1 and T2", leaseOpts{addr: leaseA, gw: gw, lease: 800},
			Lease{Addr: leaseA, Gateway: gw, Duration: 800 * time.Second, T1: 400 * time.Second, T2: 700 * time.Second}},
		{"server's T1 and T2", leaseOpts{addr: leaseA, lease: 120, t1: 10, t2: 20},
			Lease{Addr: leaseA, Duration: 2 * time.Minute, T1: 10 * time.Second, T2: 20 * time.Second}},
		{"T1 after T2: defaults", leaseOpts{addr: leaseA, lease: 120, t1: 30, t2: 20},
			Lease{Addr: leaseA, Duration: 2 * time.Minute, T1: time.Minute, T2: 105 * time.Second}},
		{"T2 past the lease: defaults", leaseOpts{addr: leaseA, lease: 120, t1: 30, t2: 120},
			Lease{Addr: leaseA, Duration: 2 * time.Minute, T1: time.Minute, T2: 105 * time.Second}},
		{"a /32 with a router outside it", leaseOpts{addr: netip.MustParsePrefix("10.156.0.2/32"), gw: netip.MustParseAddr("10.156.0.1"), lease: 60},
			Lease{Addr: netip.MustParsePrefix("10.156.0.2/32"), Gateway: netip.MustParseAddr("10.156.0.1"), Duration: time.Minute, T1: 30 * time.Second, T2: 52500 * time.Millisecond}},
		{"the first usable router and name servers", leaseOpts{addr: leaseA, lease: 60, extraOpts: []layers.DHCPOption{
			opt(layers.DHCPOptRouter, []byte{0, 0, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2}),
			opt(layers.DHCPOptDNS, []byte{224, 0, 0, 1, 10, 0, 2, 3, 127, 0, 0, 53}),
		}}, Lease{Addr: leaseA, Gateway: serverAddr, DNS: []netip.Addr{dnsA, netip.MustParseAddr("127.0.0.53")},
			Duration: time.Minute, T1: 30 * time.Second, T2: 52500 * time.Millisecond}},
		{"a long option split in two (RFC 3396)", leaseOpts{addr: leaseA, lease: 60, extraOpts: []layers.DHCPOption{
			opt(layers.DHCPOptDNS, []byte{10, 0, 2}), opt(layers.DHCPOptDNS, []byte{3}),
		}}, Lease{Addr: leaseA, DNS: []netip.Addr{dnsA}, Duration: time.Minute, T1: 30 * time.Second, T2: 52500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseReply(replyTo(r, layers.DHCPMsgTypeAck, tc.lo))
			tc.want.Server = serverAddr
			if err != nil || got.typ != msgAck || !equalLease(got.lease, tc.want) {
				t.Errorf("got %+v, %v\nwant %+v", got.lease, err, tc.want)
			}
		})
	}
	// Without a Subnet Mask, the address's class.
	b := replyTo(r, layers.DHCPMsgTypeAck, leaseOpts{addr: netip.MustParsePrefix("172.16.5.9/16"), lease: 60})
	got, err := parseReply(dropOption(t, b, layers.DHCPOptSubnetMask))
	if err != nil || got.lease.Addr != netip.MustParsePrefix("172.16.5.9/16") {
		t.Errorf("without a mask: %v, %v", got.lease.Addr, err)
	}
}

func equalLease(a, b Lease) bool {
	return a.Addr == b.Addr && a.Gateway == b.Gateway && slices.Equal(a.DNS, b.DNS) && a.Server == b.Server &&
		a.Duration == b.Duration && a.T1 == b.T1 && a.T2 == b.T2
}

// dropOption re-encodes message b without option code.
func dropOption(t *testing.T, b []byte, code layers.DHCPOpt) []byte {
	t.Helper()
	var d layers.DHCPv4
	if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	d.Options = slices.DeleteFunc(d.Options, func(o layers.DHCPOption) bool { return o.Type == code })
	buf := gopacket.NewSerializeBuffer()
	if err := d.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzParseReply: no input crashes the parser, and whatever it accepts is
// a lease the host can configure.
func FuzzParseReply(f *testing.F) {
	r := discoverFor(f)
	lo := leaseOpts{addr: leaseA, gw: serverAddr, dns: []netip.Addr{dnsA}, lease: 120, t1: 30, t2: 90}
	f.Add(replyTo(r, layers.DHCPMsgTypeOffer, lo))
	f.Add(replyTo(r, layers.DHCPMsgTypeAck, lo))
	f.Add(replyTo(r, layers.DHCPMsgTypeNak, leaseOpts{}))
	f.Add(replyTo(r, layers.DHCPMsgTypeAck, leaseOpts{addr: netip.MustParsePrefix("10.1.2.3/32"), lease: infiniteLeaseTime}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseReply(b)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			return
		}
		if got.typ != msgOffer && got.typ != msgAck {
			return
		}
		l := got.lease
		a := l.Addr.Addr()
		if !a.Is4() || !usable(a) || l.Addr.Bits() < 1 || l.Addr.Bits() > 32 {
			t.Fatalf("accepted address %v", l.Addr)
		}
		if l.Gateway.IsValid() && (!usable(l.Gateway) || l.Gateway == a) {
			t.Fatalf("accepted gateway %v for %v", l.Gateway, l.Addr)
		}
		if !(0 < l.T1 && l.T1 <= l.T2 && l.T2 <= l.Duration) {
			t.Fatalf("times %v %v %v out of order", l.T1, l.T2, l.Duration)
		}
		if got.typ == msgOffer && !got.server.IsValid() {
			t.Fatal("accepted an OFFER without a server")
		}
	})
}

// collect gathers gopacket's decoded options by code, the parts of a split
// option concatenated.
func collect(options layers.DHCPOptions) map[layers.DHCPOpt][]byte {
	m := make(map[layers.DHCPOpt][]byte, len(options))
	for _, o := range options {
		if o.Type != layers.DHCPOptPad && o.Type != layers.DHCPOptEnd {
			m[o.Type] = append(m[o.Type], o.Data...)
		}
	}
	return m
}
