package capture

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	req := func(query string) *http.Request {
		r := httptest.NewRequest("GET", "/debug/pcap"+query, nil)
		r.RemoteAddr = "10.0.2.2:40000"
		local := &net.TCPAddr{IP: net.ParseIP("10.0.2.15"), Port: 80}
		return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
	}
	o, err := options(req(""))
	if err != nil || o.Packets != DefaultPackets || o.Duration != DefaultSeconds*time.Second || o.SnapLen != DefaultSnapLen {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	if o.ExcludeRemote != netip.MustParseAddrPort("10.0.2.2:40000") || o.ExcludeLocal != netip.MustParseAddrPort("10.0.2.15:80") {
		t.Errorf("excluded connection %v -> %v", o.ExcludeRemote, o.ExcludeLocal)
	}
	o, err = options(req("?packets=5&seconds=2&snaplen=96"))
	if err != nil || o.Packets != 5 || o.Duration != 2*time.Second || o.SnapLen != 96 {
		t.Fatalf("given: %+v, %v", o, err)
	}
	for _, q := range []string{"?packets=0", "?packets=x", "?seconds=-1", "?seconds=601", "?snaplen=65536", "?packets=1e3"} {
		if _, err := options(req(q)); err == nil || !strings.Contains(err.Error(), strings.Split(q[1:], "=")[0]+"=") {
			t.Errorf("%s: error %v does not name the parameter", q, err)
		}
	}
	if MaxDuration/time.Second != 600 {
		t.Errorf("the seconds bound in the tests above assumes a 10-minute maximum")
	}
}
