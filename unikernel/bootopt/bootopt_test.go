package bootopt

import (
	"encoding/base64"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"tamanet/napi"
	"tamanet/pktgen"
	"tamanet/unikernel/tlsroots/tlsrootstest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Options
	}{
		{"", Options{}},
		{"   ", Options{}},
		{"napi=napi", Options{Mode: napi.ModeNAPI}},
		{"napi=interrupt", Options{Mode: napi.ModeInterrupt}},
		{" napi=busypoll  budget=16 ", Options{Mode: napi.ModeBusyPoll, Budget: 16}},
		{"budget=1", Options{Budget: 1}},
		{"budget=4096", Options{Budget: 4096}},
		{"ip=192.168.7.10/24 gw=192.168.7.1 dns=192.168.7.1", Options{
			Addr: netip.MustParsePrefix("192.168.7.10/24"), Gateway: netip.MustParseAddr("192.168.7.1"),
			DNS: netip.MustParseAddr("192.168.7.1")}},
		{"gw=10.0.2.3", Options{Gateway: netip.MustParseAddr("10.0.2.3")}}, // in the default subnet
		{"mac=02:00:00:00:00:01", Options{MAC: [6]byte{2, 0, 0, 0, 0, 1}}},
		{"ip=dhcp", Options{DHCP: true, DHCPWait: DefaultDHCPWait}},
		{"ip=dhcp dhcpwait=5 dns=10.0.2.3", Options{DHCP: true, DHCPWait: 5 * time.Second, DNS: netip.MustParseAddr("10.0.2.3")}},
		{"dhcpwait=3600 ip=dhcp", Options{DHCP: true, DHCPWait: time.Hour}},
		{"ip6=fd00:1::15/64 gw6=fe80::1", Options{
			Addr6: netip.MustParsePrefix("fd00:1::15/64"), Gateway6: netip.MustParseAddr("fe80::1")}},
		{"ip6=2001:db8::1/128 dns=2001:db8::53", Options{
			Addr6: netip.MustParsePrefix("2001:db8::1/128"), DNS: netip.MustParseAddr("2001:db8::53")}},
		{"mitigation=on", Options{}},
		{"napi=interrupt mitigation=off", Options{Mode: napi.ModeInterrupt, NoMitigation: true}},
		{"offload=off", Options{NoOffload: true}},
		{"tick=off", Options{NoTick: true}},
		{"tick=on", Options{}},
		{"mtu=9000", Options{MTU: 9000}},
		{"mtu=1280 offload=off", Options{MTU: 1280, NoOffload: true}},
		{"mtu=16274", Options{MTU: 16274}},
		{"offload=on napi=interrupt", Options{Mode: napi.ModeInterrupt}},
		{"rng=insecure", Options{InsecureRNG: true}},
		{"gogc=100", Options{GOGC: 100}},
		{"gogc=off budget=8", Options{Budget: 8}},
		{"testroutes=on budget=8", Options{Budget: 8, TestRoutes: true}},
		{"admin=8081", Options{Admin: 8081, AdminAllow: []netip.Prefix{netip.MustParsePrefix("10.0.2.2/32")}}},
		{"adminallow=10.0.2.0/24,fd00:1::2 admin=65535", Options{Admin: 65535,
			AdminAllow: []netip.Prefix{netip.MustParsePrefix("10.0.2.0/24"), netip.MustParsePrefix("fd00:1::2/128")}}},
		{"admin=1 adminallow=10.0.2.99/24", Options{Admin: 1, AdminAllow: []netip.Prefix{netip.MustParsePrefix("10.0.2.0/24")}}},
		{"testroutes=off", Options{}},
		{"ntp=10.0.2.2", Options{NTP: netip.MustParseAddrPort("10.0.2.2:123")}},
		{"ntp=10.0.2.2:1123", Options{NTP: netip.MustParseAddrPort("10.0.2.2:1123")}},
		{"ntp=fd00:1::2", Options{NTP: netip.MustParseAddrPort("[fd00:1::2]:123")}},
		{"ntp=[fd00:1::2]:4123", Options{NTP: netip.MustParseAddrPort("[fd00:1::2]:4123")}},
		{"ntp=[::ffff:10.0.2.2]:123", Options{NTP: netip.MustParseAddrPort("10.0.2.2:123")}},
		{"pktgen=sink", Options{Pktgen: pktgen.ModeSink}},
		{"pktgen=tx", Options{Pktgen: pktgen.ModeTx, PktgenDuration: DefaultPktgenDuration}},
		{"pktgen_size=60 pktgen=tx pktgen_seconds=2 pktgen_dst=02:00:00:00:00:02", Options{
			Pktgen: pktgen.ModeTx, PktgenSize: 60, PktgenDuration: 2 * time.Second, PktgenDst: [6]byte{2, 0, 0, 0, 0, 2}}},
		{"pktgen=tx pktgen_size=1514", Options{Pktgen: pktgen.ModeTx, PktgenSize: 1514, PktgenDuration: DefaultPktgenDuration}},
		{"pktgen=tx mtu=9000 pktgen_size=9014", Options{Pktgen: pktgen.ModeTx, MTU: 9000, PktgenSize: 9014, PktgenDuration: DefaultPktgenDuration}},
		{"pktgen=tso pktgen_seconds=600", Options{Pktgen: pktgen.ModeTSO, PktgenDuration: 600 * time.Second}},
		{"pktgen=tso pktgen_size=65483", Options{Pktgen: pktgen.ModeTSO, PktgenSize: 65483, PktgenDuration: DefaultPktgenDuration}},
	} {
		got, err := Parse(tc.line)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ line, msg string }{
		{"napi", "want key=value"},
		{"napi=", "want key=value"},
		{"napi=poll", `unknown mode "poll"`},
		{"napi=NAPI", `unknown mode "NAPI"`},
		{"budget=0", "[1, 4096]"},
		{"budget=4097", "[1, 4096]"},
		{"budget=-3", "[1, 4096]"},
		{"budget=ten", "[1, 4096]"},
		{"napi=napi napi=interrupt", "given twice"},
		{"console=ttyS0", "unknown key"},
		{"testroutes=yes", "want on or off"},
		{"ip=10.0.2.300/24", "ip=10.0.2.300/24: want ADDR/PREFIX"},
		{"ip=10.0.2.15", "ip=10.0.2.15: want ADDR/PREFIX"},
		{"ip=fd00::1/64", "ip=fd00::1/64: wrong address family"},
		{"ip=10.0.2.15/31", "prefix /31 out of [1, 30]"},
		{"ip=10.0.2.0/24", "network address of 10.0.2.0/24"},
		{"ip=10.0.2.255/24", "broadcast address of 10.0.2.0/24"},
		{"ip=224.0.0.1/24", "not a unicast host address"},
		{"gw=10.0.3.1", "gw=10.0.3.1: outside 10.0.2.15/24"},
		{"ip=dhcp gw=10.0.2.2", "gw=10.0.2.2: the DHCP lease names the gateway"},
		{"dhcpwait=10", "dhcpwait=: only with ip=dhcp"},
		{"ip=dhcp dhcpwait=0", "dhcpwait=0: want seconds in [1, 3600]"},
		{"ip=dhcp dhcpwait=3601", "dhcpwait=3601: want seconds in [1, 3600]"},
		{"ip=dhcp dhcpwait=10s", "dhcpwait=10s: want seconds in [1, 3600]"},
		// Multiplied out in nanoseconds these wrap past 2^63 to a
		// negative wait, or a small positive one.
		{"ip=dhcp dhcpwait=9223372037", "dhcpwait=9223372037: want seconds in [1, 3600]"},
		{"ip=dhcp dhcpwait=18446744074", "dhcpwait=18446744074: want seconds in [1, 3600]"},
		{"ip=dhcp dhcpwait=99999999999999999999", "want seconds in [1, 3600]"},
		{"ip=DHCP", "ip=DHCP: want ADDR/PREFIX"},
		{"ip=192.168.1.5/24 gw=10.0.2.2", "gw=10.0.2.2: outside 192.168.1.5/24"},
		{"gw=fe80::1", "gw=fe80::1: wrong address family"},
		{"dns=nameserver", "dns=nameserver: want an address"},
		{"mac=01:00:5e:00:00:01", "a multicast address"},
		{"mac=00:00:00:00:00:00", "the zero address"},
		{"mac=52:54:00:12:34", "want six hex bytes"},
		{"ip6=10.0.2.15/24", "ip6=10.0.2.15/24: wrong address family"},
		{"ip6=fd00::/64", "network address of fd00::/64"},
		{"ip6=ff02::1/64", "not a unicast host address"},
		{"gw6=10.0.2.2", "gw6=10.0.2.2: wrong address family"},
		{"mitigation=no", "want on or off"},
		{"offload=no", "want on or off"},
		{"mtu=67", "below IPv4's minimum MTU, 68"},
		{"mtu=68", "below IPv6's minimum MTU, 1280"},
		{"mtu=1279 offload=off", "mtu=1279: below IPv6's minimum MTU, 1280"},
		{"mtu=16275", "beyond the 82540EM's largest MTU, 16274"},
		{"tick=sometimes", "want on or off"},
		{"mtu=9k", "want a number of bytes"},
		{"offload=on offload=off", "given twice"},
		{"rng=rdrand", "want insecure"},
		{"gogc=0", "[1, 10000] or off"},
		{"gogc=10001", "[1, 10000] or off"},
		{"gogc=on", "[1, 10000] or off"},
		{"admin=0", "admin=0: want a TCP port in [1, 65535]"},
		{"admin=65536", "want a TCP port"},
		{"admin=http", "want a TCP port"},
		{"adminallow=10.0.2.2/32", "adminallow=: only with admin=PORT"},
		{"admin=8081 adminallow=host", `"host": want ADDR/PREFIX or ADDR`},
		{"admin=8081 adminallow=10.0.2.2/32,", `"": want ADDR/PREFIX`},
		{"admin=8081 adminallow=fe80::1%eth0/128", "no zone"},
		{"ntp=pool.ntp.org", "ntp=pool.ntp.org: want ADDR or ADDR:PORT ([ADDR]:PORT for IPv6), an address and not a name"},
		{"ntp=10.0.2.2:0", "port 0"},
		{"ntp=10.0.2.2:65536", "want ADDR or ADDR:PORT"},
		{"ntp=224.0.1.1", "not a unicast address"},
		{"ntp=0.0.0.0", "not a unicast address"},
		{"ntp=127.0.0.1", "not a unicast address"},
		{"ntp=fe80::1%eth0", "no zone"},
		{"pktgen=rx", `unknown mode "rx" (want tx, tso or sink)`},
		{"pktgen=off", `unknown mode "off"`},
		{"pktgen_size=100", "pktgen_size=: only with pktgen=tx or pktgen=tso"},
		{"pktgen=sink pktgen_seconds=5", "pktgen_seconds=: only with pktgen=tx or pktgen=tso"},
		{"pktgen_dst=02:00:00:00:00:02", "pktgen_dst=: only with pktgen=tx"},
		{"pktgen=tx pktgen_size=59", "pktgen_size=59: a frame of 60 to 1514 bytes"},
		{"pktgen=tx pktgen_size=1515", "pktgen_size=1515: a frame of 60 to 1514 bytes (MTU 1500"},
		{"pktgen=tx mtu=1280 pktgen_size=1500", "a frame of 60 to 1294 bytes (MTU 1280"},
		{"pktgen=tso pktgen_size=65484", "pktgen_size=65484: a TCP payload of 1 to 65483 bytes"},
		{"pktgen=tso pktgen_size=0", "pktgen_size=0: want a number of bytes"},
		{"pktgen=tso pktgen_size=big", "want a number of bytes"},
		{"pktgen=tx pktgen_seconds=0", "want seconds in [1, 600]"},
		{"pktgen=tx pktgen_seconds=601", "want seconds in [1, 600]"},
		{"pktgen=tx pktgen_dst=ff:ff:ff:ff:ff:ff", "a multicast address"},
	} {
		got, err := Parse(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) = %+v, %v; want an error containing %q", tc.line, got, err, tc.msg)
		}
		if !reflect.DeepEqual(got, Options{}) {
			t.Errorf("Parse(%q) returned %+v with its error; want the zero Options", tc.line, got)
		}
	}
}

func TestParseModeRoundTrip(t *testing.T) {
	for _, m := range []napi.Mode{napi.ModeNAPI, napi.ModeInterrupt, napi.ModeBusyPoll} {
		if got, err := ParseMode(m.String()); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
}

// TestParseCA: ca= carries CAs; a bad one is named without the whole
// option quoted back.
func TestParseCA(t *testing.T) {
	ca, err := tlsrootstest.NewCA("boot CA", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := Parse("ip=dhcp ca=" + ca.BootOption() + "," + ca.BootOption())
	if err != nil || len(o.CAs) != 2 || !o.CAs[0].Equal(ca.Cert) {
		t.Fatalf("got %d CAs, %v", len(o.CAs), err)
	}
	leaf, err := ca.Issue([]string{"web.tamanet.test"})
	if err != nil {
		t.Fatal(err)
	}
	bad := "ca=" + base64.StdEncoding.EncodeToString(leaf.Certificate[0])
	_, err = Parse(bad)
	if err == nil || !strings.HasPrefix(err.Error(), "boot option ca=") || !strings.Contains(err.Error(), "is not a CA certificate") ||
		len(err.Error()) > 200 {
		t.Errorf("server certificate in ca=: %v", err)
	}
}
