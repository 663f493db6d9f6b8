//go:build !tamago

package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// Timeouts are generous: everything here runs under TCG on a shared host.
const (
	readyTimeout = 3 * time.Minute
	bulkTimeout  = 10 * time.Minute
	linkTimeout  = 30 * time.Second
)

// The unikernel's guest ports: the HTTP service, the TCP and UDP echo, and
// the admin listener the tests open with withAdmin.
const (
	httpPort  = 80
	echoPort  = 7
	adminPort = 8081
)

// withAdmin adds the admin listener to a kernel command line. Its peers
// are the default, 10.0.2.2: the host as user networking shows it.
func withAdmin(cmdline string) string {
	return strings.TrimSpace(cmdline + " admin=" + strconv.Itoa(adminPort))
}

// opensAdmin reports whether a kernel command line opens the admin
// listener of withAdmin.
func opensAdmin(cmdline string) bool {
	return strings.Contains(cmdline, "admin="+strconv.Itoa(adminPort))
}

// servicePorts are the forwards to the unikernel's ports in user
// networking (free host ports), the admin listener's if admin.
func servicePorts(admin bool) []vm.Port {
	ports := []vm.Port{{Guest: httpPort}, {Guest: echoPort, UDP: true}}
	if admin {
		ports = append(ports, vm.Port{Guest: adminPort})
	}
	return ports
}

// bootReady boots the unikernel as cfg says, for the rest of t, and waits
// for its READY line.
func bootReady(t *testing.T, cfg vm.Config) (*vm.Guest, vm.Line) {
	t.Helper()
	g := vmtest.Start(t, cfg)
	return g, awaitReady(t, g)
}

// awaitReady waits for the unikernel's READY line, which it prints once it
// serves (after its DHCP lease, with ip=dhcp).
func awaitReady(t *testing.T, g *vm.Guest) vm.Line {
	t.Helper()
	ready := vmtest.Await(t, g, "READY tamanet", 0, readyTimeout)
	t.Logf("boot to ready %v (host clock, QEMU start to READY line): %s",
		ready.At.Sub(g.Start).Round(time.Millisecond), ready.Text)
	return ready
}

// guest is a running unikernel in user networking and the host's ways of
// reaching it.
type guest struct {
	vm     *vm.Guest
	ready  vm.Line // the READY line
	base   string  // http://127.0.0.1:PORT
	admin  string  // http://127.0.0.1:PORT of the admin listener, "" without withAdmin
	echo   string  // 127.0.0.1:PORT, TCP and UDP
	client *http.Client
}

// bootGuest boots the image with the given kernel command line (and extra
// QEMU arguments), a QMP socket and the service ports forwarded, and waits
// for its READY line.
func bootGuest(t *testing.T, image, cmdline string, qemuExtra ...string) *guest {
	t.Helper()
	return bootGuestOn(t, vm.Config{Image: image, Cmdline: cmdline, QEMUArgs: qemuExtra})
}

// bootGuestOn is bootGuest on the machine and NIC cfg names, in user
// networking with the service ports forwarded and a QMP socket.
func bootGuestOn(t *testing.T, cfg vm.Config) *guest {
	t.Helper()
	admin := opensAdmin(cfg.Cmdline)
	cfg.Network, cfg.Ports, cfg.QMP = vm.User, servicePorts(admin), true
	v, ready := bootReady(t, cfg)
	g := &guest{
		vm:     v,
		ready:  ready,
		base:   v.URL(httpPort, ""),
		echo:   v.Addr(echoPort),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}},
	}
	if admin {
		g.admin = v.URL(adminPort, "")
	}
	t.Cleanup(g.client.CloseIdleConnections)
	return g
}
