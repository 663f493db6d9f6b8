//go:build !tamago

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// flap6MAC is the guest's station address in TestLinkFlapIPv6.
const flap6MAC = "02:00:00:00:00:16"

// TestLinkFlapIPv6 is the link flap over IPv6: the unikernel on a tap in a
// namespace of its own takes a SLAAC address from radvd's advertisement
// and serves HTTP on it; radvd is then killed (without the farewell
// advertisement a clean stop sends), so that nothing on the link will
// announce the prefix again, and the link goes down and up through QEMU's
// monitor. The address must come back, its lifetime not having run out,
// and be served again.
func TestLinkFlapIPv6(t *testing.T) {
	vmtest.RequireTap(t)
	radvd := vmtest.Tool(t, "radvd", "radvd")
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	g, _ := bootReady(t, vm.Config{Image: image, Network: vm.Tap, TapIPv6: true, QMP: true, Cmdline: "mac=" + flap6MAC})
	mac, _ := net.ParseMAC(flap6MAC)
	slaac := eui64("fd00:1::", mac)
	addrLine := "tamanet: address " + slaac.String() + "/64 (SLAAC)"

	stopRadvd := startRadvd(t, g, radvd, `interface tap0 {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 4;
	AdvDefaultLifetime 1800;
	prefix fd00:1::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 86400; AdvPreferredLifetime 14400; };
};
`)
	vmtest.Await(t, g, addrLine, 0, linkTimeout)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: g.DialContext, DisableKeepAlives: true}}
	url := "http://" + netip.AddrPortFrom(slaac, 80).String() + "/"
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && (resp.StatusCode != 200 || string(b) != "hello from tamanet\n") {
			err = fmt.Errorf("status %d, body %q", resp.StatusCode, b)
		}
		return err
	}
	// DAD of the new address runs before it is served: retry a while.
	if err := retryFor(linkTimeout, get); err != nil {
		t.Fatalf("GET %s before the flap: %v", url, err)
	}
	stopRadvd()

	monCtx, monCancel := context.WithTimeout(context.Background(), bulkTimeout)
	defer monCancel()
	mon, err := g.QMP(monCtx)
	if err != nil {
		t.Fatal(err)
	}
	mark := g.Console.Mark()
	if err := mon.SetLink("net0", false); err != nil {
		t.Fatal(err)
	}
	vmtest.Await(t, g, "tamanet: link down", mark, linkTimeout)
	mark = g.Console.Mark()
	if err := mon.SetLink("net0", true); err != nil {
		t.Fatal(err)
	}
	vmtest.Await(t, g, "tamanet: link up", mark, linkTimeout)
	vmtest.Await(t, g, addrLine, mark, linkTimeout)
	if err := retryFor(linkTimeout, get); err != nil {
		t.Fatalf("GET %s after the flap, the router silent: %v", url, err)
	}

	resp, err := client.Get("http://" + netip.AddrPortFrom(slaac, 80).String() + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"`+slaac.String()+`/64"`) {
		t.Errorf("/stats lacks %s/64 after the flap", slaac)
	}
}

// retryFor calls f until it succeeds or d has passed, and returns its
// last error.
func retryFor(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}
