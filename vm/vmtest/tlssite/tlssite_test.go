//go:build linux

package tlssite_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
	"tamanet/vm/vmtest/tlssite"
)

// readyTimeout bounds the boot and the lease on a loaded machine under TCG.
const readyTimeout = 3 * time.Minute

// TestSite boots the unikernel against the site and checks both ends: from
// the host side in the namespace, the name resolves through dnsmasq and
// the body comes over verified TLS; in the guest, the lease brought the
// domain and search list, /etc/resolv.conf names dnsmasq and the search
// list, /etc/hosts the guest's own name, and the test CA is among the TLS
// roots.
func TestSite(t *testing.T) {
	vmtest.RequireTap(t)
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	site := tlssite.New(t, tlssite.Config{})
	g := vmtest.Start(t, vm.Config{Image: image, Network: vm.Tap, Cmdline: site.Cmdline()})
	site.Serve(t, g)
	vmtest.Await(t, g, "READY tamanet", 0, readyTimeout)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := site.Resolver(g)
	if addrs, err := r.LookupHost(ctx, site.Name); err != nil || !slices.Equal(addrs, []string{tlssite.HostAddr.String()}) {
		t.Errorf("LookupHost(%s) = %v, %v", site.Name, addrs, err)
	}
	if _, srvs, err := r.LookupSRV(ctx, "https", "tcp", site.Domain); err != nil || len(srvs) != 1 || srvs[0].Target != site.Name+"." || srvs[0].Port != 443 {
		t.Errorf("LookupSRV: %v, %v", srvs, err)
	}
	resp, err := site.Client(g).Get(site.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(body)
	if err != nil || resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != site.SHA256 || site.Requests.Load() != 1 {
		t.Errorf("GET %s: %s, %d bytes, %v; %d requests served", site.URL, resp.Status, len(body), err, site.Requests.Load())
	}

	var stats struct {
		System struct {
			DHCP struct {
				Domain string   `json:"domain"`
				Search []string `json:"search"`
			} `json:"dhcp"`
			Resolver struct {
				ResolvConf string `json:"resolv_conf"`
				Hosts      string `json:"hosts"`
			} `json:"resolver"`
			TLSRoots struct {
				Bundle, Options, Trusted int
			} `json:"tls_roots"`
		} `json:"system"`
	}
	getJSON(t, g, "/stats", &stats)
	s := stats.System
	if s.DHCP.Domain != site.Domain || !slices.Equal(s.DHCP.Search, site.Search) {
		t.Errorf("lease domain %q search %v, want %q %v", s.DHCP.Domain, s.DHCP.Search, site.Domain, site.Search)
	}
	for _, want := range []string{"nameserver " + tlssite.HostAddr.String() + "\n", "search " + strings.Join(site.Search, " ") + "\n"} {
		if !strings.Contains(s.Resolver.ResolvConf, want) {
			t.Errorf("resolv.conf lacks %q:\n%s", want, s.Resolver.ResolvConf)
		}
	}
	if want := vm.GuestIP + "\ttamanet." + site.Domain + " tamanet\n"; !strings.Contains(s.Resolver.Hosts, want) {
		t.Errorf("hosts lacks %q:\n%s", want, s.Resolver.Hosts)
	}
	if s.TLSRoots.Options != 1 || s.TLSRoots.Bundle < 100 || s.TLSRoots.Trusted != s.TLSRoots.Bundle+1 {
		t.Errorf("tls_roots %+v", s.TLSRoots)
	}
	for _, want := range []string{"tamanet: /etc/resolv.conf: nameserver 10.0.2.2; search " + strings.Join(site.Search, " "), "tamanet: TLS roots: "} {
		t.Log(vmtest.Await(t, g, want, 0, time.Second).Text)
	}
}

func getJSON(t *testing.T, g *vm.Guest, path string, v any) {
	t.Helper()
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: g.DialContext}}
	resp, err := c.Get(g.URL(80, path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// TestGuestFetch boots examples/stdhttp (a plain standard-library program)
// against the site: in the guest, Go's unpatched resolver finds the site
// by its short name through the lease's search list, and http.Get
// verifies the site's certificate with the test CA from ca= and fetches
// the body intact. Booted with no name server at all, a lookup fails
// with an error instead of hanging.
func TestGuestFetch(t *testing.T) {
	vmtest.RequireTap(t)
	image := tamagotest.BuildImage(t, "./examples/stdhttp", "")
	t.Run("site", func(t *testing.T) {
		// Valid since the epoch: this checks names and roots, whatever
		// the guest's clock says (the wall clock has tests of its own).
		site := tlssite.New(t, tlssite.Config{ValidFrom: time.Unix(0, 0)})
		g := vmtest.Start(t, vm.Config{Image: image, Network: vm.Tap, Cmdline: site.Cmdline()})
		site.Serve(t, g)
		vmtest.Await(t, g, "READY stdhttp", 0, readyTimeout)
		var lookup struct {
			Addrs []string `json:"addrs"`
			Error string   `json:"error"`
		}
		short, _, _ := strings.Cut(site.Name, ".")
		getJSON(t, g, "/lookup?host="+short, &lookup)
		if !slices.Equal(lookup.Addrs, []string{tlssite.HostAddr.String()}) {
			t.Errorf("lookup %s in the guest: %+v", short, lookup)
		}
		var fetch struct {
			Status int    `json:"status"`
			SHA256 string `json:"sha256"`
			Error  string `json:"error"`
		}
		getJSON(t, g, "/fetch?url="+site.URL, &fetch)
		if fetch.Status != http.StatusOK || fetch.SHA256 != site.SHA256 {
			t.Errorf("fetch %s in the guest: %+v, want sha256 %s", site.URL, fetch, site.SHA256)
		}
	})
	t.Run("noserver", func(t *testing.T) {
		g := vmtest.Start(t, vm.Config{Image: image, Network: vm.Tap})
		vmtest.Await(t, g, "READY stdhttp", 0, readyTimeout)
		vmtest.Await(t, g, "/etc/resolv.conf: options timeout:1 attempts:1", 0, time.Second)
		var lookup struct {
			Addrs []string `json:"addrs"`
			Error string   `json:"error"`
		}
		start := time.Now()
		getJSON(t, g, "/lookup?host="+tlssite.DefaultName, &lookup)
		t.Logf("lookup with no name server: %q after %v", lookup.Error, time.Since(start).Round(time.Millisecond))
		if lookup.Error == "" {
			t.Errorf("lookup %s with no name server: %+v", tlssite.DefaultName, lookup)
		}
	})
}
