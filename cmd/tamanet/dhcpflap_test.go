//go:build !tamago

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"tamanet/toolchain/tamagotest"
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
	ns := fmt.Sprintf("tamanet-dhcpflap-%d", os.Getpid())
	dir := t.TempDir()
	hosts, qmpPath := filepath.Join(dir, "hosts"), filepath.Join(dir, "qmp.sock")
	setHost := func(addr string) {
		if err := os.WriteFile(hosts, []byte(dhcpMAC+","+addr+",1h\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setHost("10.0.2.30")
	vm := tamagotest.Start(t, image, []string{"-M", "pc", "-t", ns, "-q", qmpPath, "-k", "ip=dhcp dhcpwait=120 mac=" + dhcpMAC})
	c := newConsole(vm.Lines)
	t.Cleanup(func() { t.Logf("console:\n%s", c.text()) })
	awaitTap(t, ns)
	// Authoritative: an INIT-REBOOT REQUEST for an address that is not
	// the client's gets a NAK instead of silence (RFC 2131 section 4.3.2).
	dm := startDNSMasq(t, bin, ns, "--dhcp-range=10.0.2.100,10.0.2.150,1h", "--dhcp-authoritative",
		"--dhcp-hostsfile="+hosts, "--dhcp-option=option:router,10.0.2.2",
		"--dhcp-leasefile="+filepath.Join(dir, "leases"), "--pid-file="+filepath.Join(dir, "pid"))
	c.await(t, "READY tamanet 10.0.2.30/24,", 0, readyTimeout)

	monCtx, monCancel := context.WithTimeout(context.Background(), bulkTimeout)
	defer monCancel()
	mon, err := tamagotest.DialQMP(monCtx, qmpPath)
	if err != nil {
		t.Fatal(err)
	}
	flap := func() int {
		t.Helper()
		mark := c.mark()
		if err := mon.SetLink("net0", false); err != nil {
			t.Fatal(err)
		}
		c.await(t, "tamanet: link down", mark, linkTimeout)
		if err := mon.SetLink("net0", true); err != nil {
			t.Fatal(err)
		}
		c.await(t, "tamanet: link up", mark, linkTimeout)
		return mark
	}

	dmMark := dm.mark()
	mark := flap()
	c.await(t, "tamanet: dhcp: verified 10.0.2.30/24 from 10.0.2.2 for 1h0m0s", mark, linkTimeout)
	dm.await(t, "DHCPACK(tap0) 10.0.2.30 "+dhcpMAC, dmMark, linkTimeout)

	setHost("10.0.2.31")
	dm.reload(t, hosts)
	mark = flap()
	c.await(t, "tamanet: dhcp: 10.0.2.2 refused 10.0.2.30/24", mark, linkTimeout)
	c.await(t, "tamanet: dhcp: lease 10.0.2.31/24 from 10.0.2.2", mark, linkTimeout)
}
