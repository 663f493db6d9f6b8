package inet

import (
	"net/netip"
	"testing"
)

func TestBroadcast(t *testing.T) {
	for _, c := range []struct{ prefix, want string }{
		{"10.0.2.15/24", "10.0.2.255"},
		{"192.168.7.0/30", "192.168.7.3"},
		{"172.16.5.4/12", "172.31.255.255"},
		{"10.1.2.3/8", "10.255.255.255"},
		{"10.0.0.1/31", "10.0.0.1"},
		{"10.0.0.1/32", "10.0.0.1"},
		{"1.2.3.4/0", "255.255.255.255"},
	} {
		if got := Broadcast(netip.MustParsePrefix(c.prefix)); got != netip.MustParseAddr(c.want) {
			t.Errorf("Broadcast(%s) = %v, want %s", c.prefix, got, c.want)
		}
	}
}
