package admin

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// serveAdmin serves PprofRoutes on a loopback listener restricted to allow.
func serveAdmin(t *testing.T, allow ...string) (*Listener, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ps []netip.Prefix
	for _, a := range allow {
		ps = append(ps, netip.MustParsePrefix(a))
	}
	al := NewListener(l, ps)
	srv := &http.Server{Handler: Mux(PprofRoutes())}
	go srv.Serve(al)
	t.Cleanup(func() { srv.Close() })
	return al, "http://" + l.Addr().String()
}

func TestListenerAdmitsAllowedPeers(t *testing.T) {
	al, base := serveAdmin(t, "10.0.2.2/32", "127.0.0.0/8")
	resp, err := http.Get(base + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/pprof/cmdline from an allowed peer: %s", resp.Status)
	}
	if st := al.Stats(); st.Accepted != 1 || st.Refused != 0 {
		t.Fatalf("stats %+v, want 1 accepted", st)
	}
}

func TestListenerRefusesOtherPeers(t *testing.T) {
	al, base := serveAdmin(t, "10.0.2.2/32", "fd00:1::2/128")
	c := &http.Client{Timeout: time.Minute}
	if resp, err := c.Get(base + "/debug/pprof/cmdline"); err == nil {
		resp.Body.Close()
		t.Fatalf("GET from a peer outside the allowed prefixes: %s, want the connection closed", resp.Status)
	}
	if st := al.Stats(); st.Accepted != 0 || st.Refused == 0 {
		t.Fatalf("stats %+v, want refusals and nothing accepted", st)
	}
}

func TestAllowedMatchesMappedIPv4(t *testing.T) {
	l := NewListener(nil, []netip.Prefix{netip.MustParsePrefix("10.0.2.2/32"), netip.MustParsePrefix("fd00:1::/64")})
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"10.0.2.2:1234", true},
		{"[::ffff:10.0.2.2]:1234", true}, // an IPv4 peer of a dual-stack listener
		{"10.0.2.3:1234", false},
		{"[::ffff:10.0.2.3]:1234", false},
		{"[fd00:1::2]:80", true},
		{"[fd00:2::2]:80", false},
		{"[fe80::1%tap0]:80", false},
	} {
		addr := net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tc.addr))
		if got := l.Allowed(addr); got != tc.want {
			t.Errorf("Allowed(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if NewListener(nil, nil).Allowed(net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:1"))) {
		t.Error("an empty allow list admitted a peer")
	}
}

func TestProfileSecondsBounded(t *testing.T) {
	_, base := serveAdmin(t, "127.0.0.1/32")
	for _, path := range []string{"/debug/pprof/profile", "/debug/pprof/trace"} {
		for _, v := range []string{"61", "0", "-1", "1e9", "x"} {
			resp, err := http.Get(base + path + "?seconds=" + v)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "[1, 60]") {
				t.Errorf("GET %s?seconds=%s: %s %q, want 400 naming the bound", path, v, resp.Status, b)
			}
		}
	}
	resp, err := http.Get(base + "/debug/pprof/profile?seconds=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/profile?seconds=1: %s", resp.Status)
	}
}

func TestNotHere(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(Prefix, NotHere)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	for _, path := range []string{"/debug/pprof/", "/debug/pcap", "/debug/gc", "/debug/trace/start?events=16777216"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, nil))
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, w.Code)
		}
	}
}
