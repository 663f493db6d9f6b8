//go:build linux

// Package tlssite is the host side of a tap guest's trip to a named HTTPS
// server, for QEMU tests of name resolution and certificate verification:
// dnsmasq in the guest's namespace hands out the lease (with a domain name
// and a search list) and answers DNS for the site's name with the tap's
// host address, where an HTTPS server with a certificate from a throwaway
// test CA serves a known body. The guest is booted with Cmdline, which
// trusts the CA (ca=) and asks for the lease (ip=dhcp).
//
//	site := tlssite.New(t, tlssite.Config{})
//	g := vmtest.Start(t, vm.Config{Image: image, Network: vm.Tap, Cmdline: site.Cmdline()})
//	site.Serve(t, g)
//	// the guest: http.Get(site.URL) and check the body's SHA-256 against site.SHA256
package tlssite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tamanet/unikernel/tlsroots/tlsrootstest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// Defaults of Config.
const (
	DefaultName = "web.tamanet.test"
	// DefaultBodySize is the body's size: several TCP segments and TLS
	// records.
	DefaultBodySize = 64 << 10
)

// HostAddr is the host side of the tap (qemu.sh's tap0), where dnsmasq and
// the HTTPS server listen; the guest's lease is vm.GuestIP.
var HostAddr = netip.MustParseAddr("10.0.2.2")

// Config says what the site is; the zero Config is a usable default.
type Config struct {
	// Name is the server's DNS name (DefaultName). Its parent domain is
	// the lease's domain name (option 15).
	Name string
	// Search is the lease's domain search list (option 119); default:
	// the domain and lab.DOMAIN.
	Search []string
	// Body is what GET /body answers; default DefaultBodySize random
	// bytes.
	Body []byte
	// ValidFrom is when the CA and the server certificate become valid;
	// zero is a day before now. A guest whose clock does not keep real
	// time needs the Unix epoch.
	ValidFrom time.Time
}

// Site is a named HTTPS server for a tap guest.
type Site struct {
	// Name is the server's name, Domain its parent, Search the lease's
	// search list.
	Name   string
	Domain string
	Search []string
	// URL is https://NAME/body, Body what it serves, SHA256 the body's
	// digest in hex.
	URL    string
	Body   []byte
	SHA256 string
	// CA signed the server's certificate; the guest trusts it through
	// Cmdline's ca=.
	CA *tlsrootstest.CA
	// DNSMasq is the DHCP and DNS server, once Serve has run (its log
	// shows the guest's queries: --log-queries).
	DNSMasq *vmtest.DNSMasq
	// Requests counts the GETs of /body served.
	Requests atomic.Int64

	cert tls.Certificate
}

// New makes the site's CA, certificate and body; nothing runs yet.
func New(t testing.TB, cfg Config) *Site {
	t.Helper()
	s := &Site{Name: cfg.Name, Search: cfg.Search, Body: cfg.Body}
	if s.Name == "" {
		s.Name = DefaultName
	}
	_, s.Domain, _ = strings.Cut(s.Name, ".")
	if s.Domain == "" {
		t.Fatalf("tlssite: name %q has no parent domain", s.Name)
	}
	if s.Search == nil {
		s.Search = []string{s.Domain, "lab." + s.Domain}
	}
	if s.Body == nil {
		s.Body = make([]byte, DefaultBodySize)
		rand.Read(s.Body)
	}
	sum := sha256.Sum256(s.Body)
	s.SHA256 = hex.EncodeToString(sum[:])
	s.URL = "https://" + s.Name + "/body"
	var err error
	if s.CA, err = tlsrootstest.NewCA("tamanet test CA", cfg.ValidFrom); err != nil {
		t.Fatal(err)
	}
	if s.cert, err = s.CA.Issue([]string{s.Name}, HostAddr); err != nil {
		t.Fatal(err)
	}
	return s
}

// Cmdline is the guest's boot options for the site: a DHCP lease and the
// test CA.
func (s *Site) Cmdline() string { return "ip=dhcp ca=" + s.CA.BootOption() }

// Serve starts dnsmasq and the HTTPS server in g's namespace (g a tap
// guest, its namespace up: vmtest.Start waits for it); both stop when the
// test ends. The lease is vm.GuestIP for an hour, with HostAddr as
// router and name server, the domain and the search list; DNS answers
// Name (A) and _https._tcp.DOMAIN (SRV, port 443) and nothing else
// (no upstream: no query leaves the namespace).
func (s *Site) Serve(t testing.TB, g *vm.Guest) {
	t.Helper()
	if g.Network != vm.Tap {
		t.Fatal("tlssite: the guest needs Network: vm.Tap")
	}
	bin := vmtest.Tool(t, "dnsmasq", "dnsmasq-base")
	s.DNSMasq = vmtest.StartDNSMasq(t, g, bin,
		"--dhcp-range="+vm.GuestIP+","+vm.GuestIP+",255.255.255.0,1h", "--dhcp-authoritative",
		"--domain="+s.Domain,
		"--dhcp-option=option:domain-search,"+strings.Join(s.Search, ","),
		"--no-resolv", "--no-hosts", "--local=/"+s.Domain+"/", "--log-queries",
		"--host-record="+s.Name+","+HostAddr.String(),
		"--srv-host=_https._tcp."+s.Domain+","+s.Name+",443")
	l, err := vm.NewNetnsDialer(g.Netns).Listen("tcp", net.JoinHostPort(HostAddr.String(), "443"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /body", func(w http.ResponseWriter, _ *http.Request) {
		s.Requests.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(s.Body)
	})
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.cert}},
		ReadHeaderTimeout: time.Minute,
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("tlssite: HTTPS server: %v", err)
		}
	})
}

// Client is an HTTP client for the host side: it resolves names through
// the site's dnsmasq (Resolver), dials in g's namespace, and trusts only
// the test CA.
func (s *Site) Client(g *vm.Guest) *http.Client {
	d, r := vm.NewNetnsDialer(g.Netns), s.Resolver(g)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := r.LookupNetIP(ctx, "ip4", host)
		if err != nil {
			return nil, err
		}
		return d.DialContext(ctx, network, net.JoinHostPort(ips[0].String(), port))
	}
	return &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: s.CA.Pool()}},
	}
}

// Resolver is a resolver that asks the site's dnsmasq from g's namespace.
func (s *Site) Resolver(g *vm.Guest) *net.Resolver {
	d := vm.NewNetnsDialer(g.Netns)
	dns := net.JoinHostPort(HostAddr.String(), "53")
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, dns)
	}}
}
