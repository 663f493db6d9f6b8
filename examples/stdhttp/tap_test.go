//go:build !tamago

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"tamanet/vm"
	"tamanet/vm/vmtest"
	"tamanet/vm/vmtest/tlssite"
)

// guestIPv6 is the guest's static IPv6 address on the tap's fd00:1::/64
// (the host side is fd00:1::2, vm.Config.TapIPv6).
const guestIPv6 = "fd00:1::15"

// TestStdHTTPTap: the unmodified program on a tap link, against a host
// side that runs dnsmasq (DHCP with a domain and search list, DNS) and an
// HTTPS server whose certificate a test CA signed (the guest trusts it
// through boot option ca=). The program resolves the server's name (short
// and full, A and SRV), fetches https://NAME/body with certificate
// verification and checks its SHA-256, tells a refused dial from one that
// meets its deadline, and its clock agrees with the host's.
func TestStdHTTPTap(t *testing.T) {
	vmtest.RequireTap(t)
	site := tlssite.New(t, tlssite.Config{})
	cfg := vm.Config{Network: vm.Tap, TapIPv6: true, Cmdline: site.Cmdline() + " ip6=" + guestIPv6 + "/64"}
	g, base := bootExampleWith(t, cfg, func(g *vm.Guest) { site.Serve(t, g) })
	client := g.HTTPClient()

	// http.ListenAndServe(":80") is one dual-stack socket: IPv6 peers
	// too, and the program dials IPv6 as well.
	if body := get(t, client, "http://["+guestIPv6+"]/", 200); !strings.Contains(body, "[fd00:1::2]:") {
		t.Errorf("GET / over IPv6: %q, want the host side's IPv6 address as the peer", body)
	}
	var d6 dialResult
	getJSON(t, client, base+"/dial?timeout=1m&addr=[fd00:1::2]:1", &d6)
	if d6.Connected || !d6.Refused {
		t.Errorf("IPv6 dial to a closed port of the host side: %+v, want ECONNREFUSED", d6)
	}

	short, _, _ := strings.Cut(site.Name, ".")
	for _, name := range []string{site.Name, short} {
		var got struct{ Addrs []string }
		getJSON(t, client, base+"/lookup?host="+name, &got)
		if len(got.Addrs) != 1 || got.Addrs[0] != tlssite.HostAddr.String() {
			t.Errorf("net.LookupHost(%q) in the guest: %v, want [%v]", name, got.Addrs, tlssite.HostAddr)
		}
	}
	var srv struct{ Targets []string }
	getJSON(t, client, base+"/srv?service=https&proto=tcp&name="+site.Domain, &srv)
	if want := site.Name + ".:443"; len(srv.Targets) != 1 || srv.Targets[0] != want {
		t.Errorf("net.LookupSRV: %v, want [%s]", srv.Targets, want)
	}
	missing := get(t, client, base+"/lookup?host=absent."+site.Domain, 502)
	if !strings.Contains(missing, "no such host") {
		t.Errorf("lookup of an absent name: %s, want \"no such host\"", missing)
	}

	var fetched struct {
		Status int
		Bytes  int
		SHA256 string
	}
	getJSON(t, client, base+"/fetch?url="+site.URL, &fetched)
	if fetched.Status != 200 || fetched.Bytes != len(site.Body) || fetched.SHA256 != site.SHA256 {
		t.Errorf("http.Get(%s) in the guest: %+v, want 200, %d bytes, sha256 %s", site.URL, fetched, len(site.Body), site.SHA256)
	}

	var d dialResult
	getJSON(t, client, base+"/dial?timeout=1m&addr="+tlssite.HostAddr.String()+":1", &d)
	if d.Connected || !d.Refused || d.Timeout {
		t.Errorf("dial to a closed port of the host side: %+v, want ECONNREFUSED", d)
	}
	// 10.0.2.77 is on the link but nobody: its SYN waits for an ARP
	// answer that never comes, so the dial meets its deadline first.
	const timeout = 2 * time.Second
	getJSON(t, client, fmt.Sprintf("%s/dial?timeout=%v&addr=10.0.2.77:80", base, timeout), &d)
	if elapsed, err := time.ParseDuration(d.Elapsed); d.Connected || d.Refused || !d.Timeout || err != nil || elapsed < timeout {
		t.Errorf("dial to a silent host with a %v timeout: %+v, want a timeout error no sooner than the deadline", timeout, d)
	}

	// The guest's wall clock, read between two readings of the host's:
	// within 2 s (QEMU's RTC has whole seconds).
	before := time.Now()
	body := get(t, client, base+"/time", 200)
	after := time.Now()
	guest, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(body))
	if err != nil {
		t.Fatalf("GET /time: %q: %v", body, err)
	}
	if guest.Before(before.Add(-2*time.Second)) || guest.After(after.Add(2*time.Second)) {
		t.Errorf("guest clock %v, host between %v and %v", guest, before, after)
	}
}
