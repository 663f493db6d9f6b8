//go:build !tamago

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/unikernel/admin/admintest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// Addressing of TestNetworkConfigTap: every boot option of the network at
// once, and radvd announcing fd00:1::/64 from the host side of the tap.
const (
	tapMAC     = "02:00:00:00:00:15"
	tapBootOpt = "ip=10.0.2.20/24 gw=10.0.2.2 dns=10.0.2.3 mac=" + tapMAC + " ip6=fd00:1::15/64"
	// v6Download is the size of the download over each IPv6 address.
	v6Download = 20 << 20
)

// eui64 is the interface identifier SLAAC and the link-local address
// derive from a MAC (RFC 4291 appendix A).
func eui64(prefix string, mac net.HardwareAddr) netip.Addr {
	p := netip.MustParseAddr(prefix).As16()
	p[8], p[9], p[10], p[11] = mac[0]^2, mac[1], mac[2], 0xff
	p[12], p[13], p[14], p[15] = 0xfe, mac[3], mac[4], mac[5]
	return netip.AddrFrom16(p)
}

// startRadvd runs radvd with configuration conf on the tap of g's
// namespace. The stop it returns, which also runs when the test ends,
// kills it with SIGKILL, so that it sends no final advertisement, and logs
// its output.
func startRadvd(t *testing.T, g *vm.Guest, radvd, conf string) (stop func()) {
	t.Helper()
	dir := t.TempDir()
	confPath := filepath.Join(dir, "radvd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	rd := g.Command(radvd, "-n", "-C", confPath, "-p", filepath.Join(dir, "radvd.pid"), "-m", "stderr")
	var out bytes.Buffer
	rd.Stdout, rd.Stderr = &out, &out
	if err := rd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = sync.OnceFunc(func() {
		rd.Process.Kill()
		rd.Wait()
		t.Logf("radvd:\n%s", out.String())
	})
	t.Cleanup(stop)
	return stop
}

// TestNetworkConfigTap boots the unikernel on a tap in a namespace of its
// own with ip=, gw=, dns=, mac= and ip6=, runs radvd there (its search
// domain, DNSSL, reaches /etc/resolv.conf), and talks to it
// over every address it should have: the static IPv4 one, the link-local
// and SLAAC addresses derived from mac=, and the static IPv6 one: HTTP GET,
// a 20 MB download checked by SHA-256 over each IPv6 address, TCP and UDP
// echo over each. The admin listener is open to the link's global IPv6
// prefix only: it serves the debug routes to the IPv6 global targets
// (which the host reaches from an fd00:1::/64 address: fd00:1::2, or the
// one the tap takes from radvd's advertisement) and closes the
// connections from 10.0.2.2 and the link-local address; port 80 answers
// 404 under /debug/ over every address.
func TestNetworkConfigTap(t *testing.T) {
	vmtest.RequireTap(t)
	radvd := vmtest.Tool(t, "radvd", "radvd")
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	g, ready := bootReady(t, vm.Config{Image: image, Network: vm.Tap, TapIPv6: true, Cmdline: withAdmin(tapBootOpt) + " adminallow=fd00:1::/64"})
	mac, _ := net.ParseMAC(tapMAC)
	ll, slaac, static6 := eui64("fe80::", mac), eui64("fd00:1::", mac), netip.MustParseAddr("fd00:1::15")
	for _, want := range []string{"10.0.2.20/24", ll.String() + "/64", static6.String() + "/64"} {
		if !strings.Contains(ready.Text, want) {
			t.Errorf("READY line lacks %s: %s", want, ready.Text)
		}
	}

	startRadvd(t, g, radvd, `interface tap0 {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 4;
	prefix fd00:1::/64 { AdvOnLink on; AdvAutonomous on; };
	RDNSS fd00:1::53 { };
	DNSSL v6.tamanet.test { };
};
`)
	line := vmtest.Await(t, g, "tamanet: address "+slaac.String()+"/64 (SLAAC)", 0, linkTimeout)
	t.Logf("%s (router advertisement from radvd)", line.Text)
	// RFC 8106: the search domain comes from the advertisement; dns=
	// takes the place of every other name server.
	vmtest.Await(t, g, "tamanet: /etc/resolv.conf: nameserver 10.0.2.3; search v6.tamanet.test", 0, linkTimeout)

	dialer := vm.NewNetnsDialer(g.Netns)
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: dialer.DialContext, DisableCompression: true}}
	defer client.CloseIdleConnections()
	targets := []struct {
		name string
		addr netip.Addr
		zone string
	}{
		{"ipv4", netip.MustParseAddr("10.0.2.20"), ""},
		{"link-local", ll, "tap0"},
		{"slaac", slaac, ""},
		{"static6", static6, ""},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			host := tg.addr.WithZone(tg.zone)
			// A zone in a URL is escaped, "%25" (RFC 6874).
			base := "http://" + strings.Replace(netip.AddrPortFrom(host, 80).String(), "%", "%25", 1)
			get := func(path string) []byte {
				t.Helper()
				resp, err := client.Get(base + path)
				if err != nil {
					t.Fatalf("GET %s%s: %v", base, path, err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("GET %s%s: %d, %v", base, path, resp.StatusCode, err)
				}
				return b
			}
			if got := string(get("/")); got != "hello from tamanet\n" {
				t.Errorf("GET / = %q", got)
			}
			if tg.addr.Is6() {
				start := time.Now()
				h := sha256.Sum256(get(fmt.Sprintf("/bytes?n=%d", v6Download)))
				if !bytes.Equal(h[:], patternHash(v6Download)) {
					t.Errorf("%d MiB download over %s: SHA-256 mismatch", v6Download>>20, tg.addr)
				}
				t.Logf("%d MiB over %s in %v", v6Download>>20, host, time.Since(start).Round(time.Millisecond))
			}
			echoTCP(t, dialer, netip.AddrPortFrom(host, 7).String())
			echoUDP(t, dialer, tg.addr, tg.zone)

			admintest.ExpectNotServed(t, client, base)
			admin := "http://" + strings.Replace(netip.AddrPortFrom(host, adminPort).String(), "%", "%25", 1)
			if tg.name == "slaac" || tg.name == "static6" {
				admintest.ExpectServed(t, client, admin)
			} else if resp, err := client.Get(admin + "/debug/boot"); err == nil {
				resp.Body.Close()
				t.Errorf("admin GET /debug/boot from outside adminallow=: %s, want the connection closed", resp.Status)
			}
		})
	}

	var stats struct {
		System struct {
			Addresses []string `json:"addresses"`
			DNS       string   `json:"dns"`
			Admin     struct {
				Accepted uint64 `json:"accepted"`
				Refused  uint64 `json:"refused"`
			} `json:"admin"`
		} `json:"system"`
	}
	resp, err := client.Get("http://10.0.2.20/stats")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	for _, want := range []string{"10.0.2.20/24", ll.String() + "/64", slaac.String() + "/64", static6.String() + "/64"} {
		if !slices.Contains(stats.System.Addresses, want) {
			t.Errorf("/stats addresses %v lack %s", stats.System.Addresses, want)
		}
	}
	if stats.System.DNS != "10.0.2.3" {
		t.Errorf("/stats dns %q, want 10.0.2.3", stats.System.DNS)
	}
	if a := stats.System.Admin; a.Accepted == 0 || a.Refused < 2 {
		t.Errorf("/stats admin %+v, want connections accepted over IPv6 and refused from IPv4 and link-local", a)
	}
}

// echoTCP sends 64 kB through the TCP echo at addr and checks it comes back.
func echoTCP(t *testing.T, d *vm.NetnsDialer, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("TCP echo %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	msg := bytes.Repeat([]byte("tamanet ipv6 echo "), 3600)
	go conn.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, msg) {
		t.Errorf("TCP echo %s: %v (equal %v)", addr, err, bytes.Equal(got, msg))
	}
}

// echoUDP checks the UDP echo at addr:7, allowing a retry or two.
func echoUDP(t *testing.T, d *vm.NetnsDialer, addr netip.Addr, zone string) {
	t.Helper()
	network := "udp4"
	if addr.Is6() {
		network = "udp6"
	}
	pc, err := d.ListenPacket(network, "")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	to := &net.UDPAddr{IP: addr.AsSlice(), Port: 7, Zone: zone}
	buf := make([]byte, 1500)
	for try := 1; try <= 5; try++ {
		msg := fmt.Sprintf("udp echo %d to %s", try, addr)
		if _, err := pc.WriteTo([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err == nil {
			if string(buf[:n]) != msg {
				t.Errorf("UDP echo %s: got %q", addr, buf[:n])
			}
			return
		}
	}
	t.Errorf("UDP echo %s: no reply", addr)
}
