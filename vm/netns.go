//go:build linux

package vm

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// NetnsDialer dials from inside the network namespace ns (as created by
// "ip netns add", e.g. qemu.sh's tap mode): each socket is created by a
// thread that has joined ns for that moment, and belongs to ns for its
// life. Tests reach a guest on a tap this way without running processes
// in the namespace.
type NetnsDialer struct {
	ns string
	d  net.Dialer
}

// NewNetnsDialer returns a dialer for namespace ns.
func NewNetnsDialer(ns string) *NetnsDialer { return &NetnsDialer{ns: ns} }

// DialContext dials network/address from inside the namespace.
func (n *NetnsDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := n.Run(func() error {
		var err error
		c, err = n.d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// ListenPacket opens a packet socket inside the namespace.
func (n *NetnsDialer) ListenPacket(network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Run(func() error {
		var err error
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

// Listen opens a listening socket inside the namespace: a test's server
// there, which the guest reaches over its tap.
func (n *NetnsDialer) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := n.Run(func() error {
		var err error
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// PacketSocket opens a raw AF_PACKET socket inside the namespace, bound
// to its interface ifname: a test writes whole Ethernet frames with it
// onto a tap, towards the guest (the socket receives nothing). The caller
// closes the descriptor.
func (n *NetnsDialer) PacketSocket(ifname string) (int, error) {
	fd := -1
	err := n.Run(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		// Protocol 0: it sends only, nothing is queued to it.
		s, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Bind(s, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
			unix.Close(s)
			return err
		}
		fd = s
		return nil
	})
	return fd, err
}

// Run runs f on a thread that is in the namespace while f runs: the
// sockets f creates (an AF_PACKET socket bound to the tap, a netlink
// socket reading its counters) belong to the namespace for their life.
func (n *NetnsDialer) Run(f func() error) error {
	target, err := os.Open("/var/run/netns/" + n.ns)
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.ns, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer own.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", n.ns, err)
	}
	ferr := f()
	if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the namespace: let it die with the
		// goroutine rather than serve others (no UnlockOSThread).
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// nsPrefix starts the name of every namespace the launcher makes up:
// tamanet-PID-N, PID being the launching process, so a later launch can
// tell a namespace whose owner died (killed before its cleanup ran).
const nsPrefix = "tamanet-"

var nsSeq atomic.Int64

func newNetnsName() string {
	return fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), nsSeq.Add(1))
}

// sweepNetns removes the namespaces of launches whose process is gone,
// with whatever still runs in them.
func sweepNetns() {
	ents, _ := os.ReadDir("/var/run/netns")
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pid, _, ok := strings.Cut(rest, "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n == os.Getpid() || processExists(n) {
			continue
		}
		removeNetns(e.Name())
	}
}

func processExists(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}

// removeNetns kills what runs in namespace ns and deletes it: the backstop
// for a qemu.sh that could not run its own cleanup.
func removeNetns(ns string) {
	if _, err := os.Stat("/var/run/netns/" + ns); err != nil {
		return
	}
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run()
}
