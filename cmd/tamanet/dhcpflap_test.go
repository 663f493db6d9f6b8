//go:build !tamago

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// TestDHCPLinkFlap boots the unikernel with ip=dhcp on a tap against
// dnsmasq, with an hour's lease, and flaps the link through QEMU's
// monitor: each time the link comes back the guest verifies its lease at
// once (INIT-REBOOT) instead of keeping it unchecked until T1. The first
// time dnsmasq confirms it; then the address given to the guest's MAC
// changes, and after the second flap dnsmasq refuses the old address and
// discovery gets the new one.
func TestDHCPLinkFlap(t *testing.T) {
	vmtest.RequireTap(t)
	bin := vmtest.Tool(t, "dnsmasq", "dnsmasq-base")
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	setHost := func(addr string) {
		if err := os.WriteFile(hosts, []byte(dhcpMAC+","+addr+",1h\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setHost("10.0.2.30")
	g := vmtest.Start(t, vm.Config{Image: image, Network: vm.Tap, QMP: true, Cmdline: "ip=dhcp dhcpwait=120 mac=" + dhcpMAC})
	// Authoritative: an INIT-REBOOT REQUEST for an address that is not
	// the client's gets a NAK instead of silence (RFC 2131 section 4.3.2).
	dm := startDNSMasq(t, g, bin, "--dhcp-range=10.0.2.100,10.0.2.150,1h", "--dhcp-authoritative",
		"--dhcp-hostsfile="+hosts, "--dhcp-option=option:router,10.0.2.2",
		"--dhcp-leasefile="+filepath.Join(dir, "leases"), "--pid-file="+filepath.Join(dir, "pid"))
	if ready := awaitReady(t, g); !strings.Contains(ready.Text, "READY tamanet 10.0.2.30/24,") {
		t.Fatalf("READY line %q: want the address given to the guest's MAC, 10.0.2.30/24", ready.Text)
	}

	monCtx, monCancel := context.WithTimeout(context.Background(), bulkTimeout)
	defer monCancel()
	mon, err := g.QMP(monCtx)
	if err != nil {
		t.Fatal(err)
	}
	flap := func() int {
		t.Helper()
		mark := g.Console.Mark()
		if err := mon.SetLink("net0", false); err != nil {
			t.Fatal(err)
		}
		vmtest.Await(t, g, "tamanet: link down", mark, linkTimeout)
		if err := mon.SetLink("net0", true); err != nil {
			t.Fatal(err)
		}
		vmtest.Await(t, g, "tamanet: link up", mark, linkTimeout)
		return mark
	}

	dmMark := dm.Mark()
	mark := flap()
	vmtest.Await(t, g, "tamanet: dhcp: verified 10.0.2.30/24 from 10.0.2.2 for 1h0m0s", mark, linkTimeout)
	dm.Await(t, "DHCPACK(tap0) 10.0.2.30 "+dhcpMAC, dmMark, linkTimeout)

	setHost("10.0.2.31")
	dm.Reload(t, hosts, linkTimeout)
	mark = flap()
	vmtest.Await(t, g, "tamanet: dhcp: 10.0.2.2 refused 10.0.2.30/24", mark, linkTimeout)
	vmtest.Await(t, g, "tamanet: dhcp: lease 10.0.2.31/24 from 10.0.2.2", mark, linkTimeout)
}
