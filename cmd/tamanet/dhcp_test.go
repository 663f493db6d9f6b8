//go:build !tamago

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// dhcpStats is system.dhcp of GET /stats (package dhcpclient's Stats).
type dhcpStats struct {
	State        string   `json:"state"`
	Address      string   `json:"address"`
	Gateway      string   `json:"gateway"`
	DNS          []string `json:"dns"`
	Server       string   `json:"server"`
	LeaseSeconds float64  `json:"lease_seconds"`
	Discovers    uint64   `json:"discovers"`
	Retransmits  uint64   `json:"retransmits"`
	Offers       uint64   `json:"offers"`
	Acks         uint64   `json:"acks"`
	Naks         uint64   `json:"naks"`
	Malformed    uint64   `json:"malformed"`
	Leases       uint64   `json:"leases"`
	Renewals     uint64   `json:"renewals"`
	Expiries     uint64   `json:"expiries"`
}

// testDHCPUser checks a boot with ip=dhcp on QEMU user networking: slirp's
// DHCP server gives 10.0.2.15 for a day with itself as gateway and
// 10.0.2.3 as name server; the READY line and /stats say so, the lease
// came between the stack and READY and no earlier than QEMU's e1000 lets
// the OFFER in, and the guest serves on the address (the requests here
// arrive through the 127.0.0.1 forward).
func (g *guest) testDHCPUser(t *testing.T) {
	ready := vmtest.Await(t, g.vm, "READY tamanet", 0, time.Second)
	want := "10.0.2.15/24 from 10.0.2.2 for 24h0m0s (gateway 10.0.2.2, dns 10.0.2.3)"
	if !strings.Contains(ready.Text, "READY tamanet 10.0.2.15/24,") || !strings.Contains(ready.Text, "dhcp lease "+want) {
		t.Errorf("READY line %q: want the leased address and dhcp lease %s", ready.Text, want)
	}
	vmtest.Await(t, g.vm, "tamanet: dhcp: lease "+want, 0, time.Second)
	g.testRoot(t)
	s := g.stats(t).System
	d := s.DHCP
	if d == nil {
		t.Fatal("/stats has no system.dhcp")
	}
	if d.State != "bound" || d.Address != "10.0.2.15/24" || d.Server != "10.0.2.2" || d.Gateway != "10.0.2.2" ||
		!slices.Equal(d.DNS, []string{"10.0.2.3"}) || d.LeaseSeconds != 86400 ||
		d.Discovers < 1 || d.Offers != 1 || d.Acks != 1 || d.Leases != 1 || d.Malformed != 0 {
		t.Errorf("system.dhcp %+v", *d)
	}
	if s.DNS != "10.0.2.3" || !slices.Contains(s.Addresses, "10.0.2.15/24") {
		t.Errorf("system dns %q addresses %v, want the lease's", s.DNS, s.Addresses)
	}
	stack, lease, ready2, rx := s.Boot["stack_seconds"], s.Boot["lease_seconds"], s.Boot["ready_seconds"], s.Boot["rx_enabled_seconds"]
	if !(stack < lease && lease < ready2) || lease < rx+0.99 {
		t.Errorf("boot: stack up %.3f s, lease %.3f s, READY %.3f s, receive enabled %.3f s: want stack < lease < READY, lease >= receive + 1 s",
			stack, lease, ready2, rx)
	}
	vmtest.Await(t, g.vm, "ms  DHCP lease", 0, time.Second)
}

// startDNSMasq runs dnsmasq as a DHCP server only (no DNS: --port=0) on
// tap0 in g's namespace with the given options; it stops when the test
// ends.
func startDNSMasq(t *testing.T, g *vm.Guest, bin string, args ...string) *vmtest.DNSMasq {
	t.Helper()
	return vmtest.StartDNSMasq(t, g, bin, append([]string{"--port=0"}, args...)...)
}

// DHCP over the tap: dnsmasq's shortest lease (2 minutes), with T1 and T2
// it lets us set to 10 and 30 seconds so renewals come within the test.
const (
	dhcpMAC   = "02:00:00:00:00:16"
	dhcpT1    = 10 * time.Second
	dhcpLease = "2m"
)

// TestDHCPTap boots the unikernel with ip=dhcp on a tap in a namespace of
// its own, against dnsmasq there. The guest's first DISCOVERs go
// unanswered (dnsmasq ignores unknown clients) until the test makes it
// known, so the lease comes from a retransmission; then the guest serves
// HTTP on the leased address; a renewal brings a changed name server,
// which is applied; and when the address given to the guest's MAC changes,
// the next renewal is refused (DHCPNAK) and discovery gets the new address,
// which then serves. Without any server, the boot stops after dhcpwait=
// with a message naming ip=dhcp.
func TestDHCPTap(t *testing.T) {
	vmtest.RequireTap(t)
	bin := vmtest.Tool(t, "dnsmasq", "dnsmasq-base")
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")

	t.Run("dnsmasq", func(t *testing.T) {
		dir := t.TempDir()
		hosts, opts := filepath.Join(dir, "hosts"), filepath.Join(dir, "opts")
		write := func(path, content string) {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(hosts, "")
		write(opts, "option:dns-server,10.0.2.3\n")
		g := vmtest.Start(t, vm.Config{Image: image, Network: vm.Tap, Cmdline: "ip=dhcp dhcpwait=120 mac=" + dhcpMAC})
		dm := startDNSMasq(t, g, bin,
			"--dhcp-range=10.0.2.100,10.0.2.150,"+dhcpLease, "--dhcp-ignore=tag:!known",
			"--dhcp-hostsfile="+hosts, "--dhcp-optsfile="+opts, "--dhcp-option=option:router,10.0.2.2",
			fmt.Sprintf("--dhcp-option=option:T1,%d", int(dhcpT1/time.Second)), "--dhcp-option=option:T2,30",
			"--dhcp-leasefile="+filepath.Join(dir, "leases"), "--pid-file="+filepath.Join(dir, "pid"))
		dm.Await(t, "DHCPDISCOVER(tap0) "+dhcpMAC+" ignored", 0, readyTimeout)
		write(hosts, dhcpMAC+",10.0.2.30,"+dhcpLease+"\n")
		dm.Reload(t, hosts, linkTimeout)

		ready := awaitReady(t, g)
		want := "10.0.2.30/24 from 10.0.2.2 for 2m0s (gateway 10.0.2.2, dns 10.0.2.3)"
		if !strings.Contains(ready.Text, "READY tamanet 10.0.2.30/24,") || !strings.Contains(ready.Text, "dhcp lease "+want) {
			t.Errorf("READY line %q: want the leased address and dhcp lease %s", ready.Text, want)
		}
		client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: g.DialContext}}
		defer client.CloseIdleConnections()
		get := func(addr, path string) []byte {
			t.Helper()
			resp, err := client.Get("http://" + addr + path)
			if err != nil {
				t.Fatalf("GET http://%s%s: %v", addr, path, err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET http://%s%s: %d, %v", addr, path, resp.StatusCode, err)
			}
			return b
		}
		stats := func(addr string) *statsDoc {
			t.Helper()
			var s statsDoc
			if err := json.Unmarshal(get(addr, "/stats"), &s); err != nil || s.System.DHCP == nil {
				t.Fatalf("GET /stats: %v, system.dhcp %v", err, s.System.DHCP)
			}
			return &s
		}
		if got := string(get("10.0.2.30", "/")); got != "hello from tamanet\n" {
			t.Errorf("GET / = %q", got)
		}
		s := stats("10.0.2.30").System
		if d := s.DHCP; d.State != "bound" || d.Server != "10.0.2.2" || d.LeaseSeconds != 120 || d.Gateway != "10.0.2.2" ||
			d.Discovers < 2 || d.Retransmits < 1 || d.Leases != 1 || d.Malformed != 0 || s.DNS != "10.0.2.3" {
			t.Errorf("system.dhcp %+v, dns %q: want a lease got by a retransmitted DISCOVER", *d, s.DNS)
		}

		vmtest.Await(t, g, "tamanet: /etc/resolv.conf: nameserver 10.0.2.3", 0, time.Second)

		t.Log("renewal with a changed name server")
		write(opts, "option:dns-server,10.0.2.4\n")
		dm.Reload(t, opts, linkTimeout)
		vmtest.Await(t, g, "tamanet: dhcp: renewed 10.0.2.30/24 from 10.0.2.2 for 2m0s (gateway 10.0.2.2, dns 10.0.2.4)", 0, 3*dhcpT1+linkTimeout)
		if s := stats("10.0.2.30").System; s.DNS != "10.0.2.4" || s.DHCP.Renewals < 1 {
			t.Errorf("after the renewal: dns %q, system.dhcp %+v", s.DNS, *s.DHCP)
		}
		// Go's resolver reads the new server from the rewritten file.
		vmtest.Await(t, g, "tamanet: /etc/resolv.conf: nameserver 10.0.2.4", 0, linkTimeout)

		t.Log("the address moves: the renewal is refused, discovery gets the new one")
		write(hosts, dhcpMAC+",10.0.2.31,"+dhcpLease+"\n")
		dm.Reload(t, hosts, linkTimeout)
		mark := g.Console.Mark()
		vmtest.Await(t, g, "tamanet: dhcp: 10.0.2.2 refused 10.0.2.30/24", mark, 3*dhcpT1+linkTimeout)
		vmtest.Await(t, g, "tamanet: dhcp: lease 10.0.2.31/24 from 10.0.2.2", mark, linkTimeout)
		if got := string(get("10.0.2.31", "/")); got != "hello from tamanet\n" {
			t.Errorf("GET / on the new address = %q", got)
		}
		s = stats("10.0.2.31").System
		if slices.Contains(s.Addresses, "10.0.2.30/24") || !slices.Contains(s.Addresses, "10.0.2.31/24") {
			t.Errorf("addresses %v: want 10.0.2.31/24 and no longer 10.0.2.30/24", s.Addresses)
		}
		if d := s.DHCP; d.Naks != 1 || d.Leases != 2 || d.Address != "10.0.2.31/24" || d.State != "bound" {
			t.Errorf("system.dhcp %+v", *d)
		}
	})

	t.Run("noserver", func(t *testing.T) {
		r := vmtest.Run(t, vm.Config{Image: image, Network: vm.Tap, Cmdline: "ip=dhcp dhcpwait=3"}, readyTimeout)
		if !strings.Contains(r.Output, "tamanet: boot option ip=dhcp: no lease from any server after 3s (") {
			t.Errorf("no error naming ip=dhcp; console:\n%s", r.Output)
		}
		if want := 1<<1 | 1; r.ExitCode != want || strings.Contains(r.Output, "READY") {
			t.Errorf("QEMU exit status %d, want %d, without READY; console:\n%s", r.ExitCode, want, r.Output)
		}
	})
}
