//go:build linux

// Package vm starts tamanet guests (and the Linux baseline guest) in QEMU
// for the tests and the benchmarks: one launcher, so every harness boots,
// waits for and cleans up a guest the same way.
//
// It runs qemu.sh, the user's launcher, with the flags a Config stands for,
// so the two agree on every flag and default. A Guest's console is kept
// whole (Console), its ports are reached from the host in user networking
// or from inside its network namespace in tap mode (Addr, DialContext,
// HTTPClient, Command), and Stop leaves neither a QEMU nor a namespace
// behind: qemu.sh is told to end when the launching process dies (even by
// SIGKILL, e.g. a test binary's timeout), and a later Start removes the
// namespaces of launchers that died before their cleanup.
package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tamanet/vm/qmp"
)

// GuestIP is the guest's IPv4 address in both network modes (QEMU user
// networking's and qemu.sh's tap subnet 10.0.2.0/24).
const GuestIP = "10.0.2.15"

// stopGrace is how long Stop waits for qemu.sh to end QEMU and remove its
// namespace after SIGTERM, before it kills them.
const stopGrace = 15 * time.Second

// Guest is a running QEMU.
type Guest struct {
	Config
	Console *Console
	Start   time.Time // just before qemu.sh was started

	cmd   *exec.Cmd
	dir   string // pid file and QMP socket
	ports map[int]int
	done  chan struct{}
	err   error // qemu.sh's exit, once done is closed

	stopOnce sync.Once
}

// Start launches cfg, copying every console line to console if it is not
// nil (e.g. a log file). The guest runs until Stop, or until it ends by
// itself (Wait).
func Start(cfg Config, console io.Writer) (*Guest, error) {
	if cfg.Image == "" {
		return nil, errors.New("vm: no image")
	}
	if _, err := os.Stat(cfg.Image); err != nil {
		return nil, fmt.Errorf("vm: image: %w", err)
	}
	script, err := Script()
	if err != nil {
		return nil, err
	}
	if cfg.Network == Tap {
		if err := TapAvailable(); err != nil {
			return nil, err
		}
		sweepNetns()
		if cfg.Netns == "" {
			cfg.Netns = newNetnsName()
		}
	}
	g := &Guest{Config: cfg, Console: newConsole(console), ports: map[int]int{}, done: make(chan struct{})}
	var ports []Port
	if cfg.Network == User {
		for _, p := range cfg.Ports {
			if p.Host == 0 {
				if p.Host, err = freePort(p.UDP); err != nil {
					return nil, err
				}
			}
			g.ports[p.Guest] = p.Host
			ports = append(ports, p)
		}
	}
	if g.dir, err = os.MkdirTemp("", "tamanet-vm-"); err != nil {
		return nil, err
	}
	qmpSock := ""
	if cfg.QMP {
		qmpSock = filepath.Join(g.dir, "qmp.sock")
	}
	g.cmd = exec.Command(script, cfg.scriptArgs(ports, filepath.Join(g.dir, "qemu.pid"), qmpSock)...)
	// qemu.sh (and QEMU, which it execs in user networking) ends with the
	// launching process, however that ends; in tap mode its trap then
	// removes the namespace.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := g.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(g.dir)
		return nil, err
	}
	g.cmd.Stderr = g.cmd.Stdout
	g.Start = time.Now()
	if err := g.cmd.Start(); err != nil {
		os.RemoveAll(g.dir)
		return nil, fmt.Errorf("vm: %s: %w", script, err)
	}
	go func() {
		g.Console.read(out)
		g.err = g.cmd.Wait()
		close(g.done)
	}()
	return g, nil
}

// Script is the path of qemu.sh: $TAMANET_ROOT/qemu.sh, else the one in
// the tamanet checkout holding the working directory.
func Script() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "qemu.sh"), nil
}

// RepoRoot is the tamanet checkout: $TAMANET_ROOT, else the nearest
// directory above the working directory holding qemu.sh and go.mod.
func RepoRoot() (string, error) {
	if r := os.Getenv("TAMANET_ROOT"); r != "" {
		return r, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isFile(filepath.Join(d, "qemu.sh")) && isFile(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("vm: no tamanet checkout (qemu.sh, go.mod) above %s; set TAMANET_ROOT", dir)
		}
	}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

var tapOnce = sync.OnceValue(func() error {
	script, err := Script()
	if err != nil {
		return err
	}
	out, err := exec.Command(script, "-T").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s", strings.TrimSpace(string(out)))
	}
	return nil
})

// TapAvailable says why tap mode cannot work here (qemu.sh -T), or nil.
func TapAvailable() error { return tapOnce() }

// freePort returns a port free on 127.0.0.1 for TCP (and for UDP as well
// if udp, for a forward of both on one number).
func freePort(udp bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !udp {
			l.Close()
			return port, nil
		}
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both TCP and UDP on 127.0.0.1")
}

// Addr is host:port at which the host reaches the guest's port: a forward
// on 127.0.0.1 in user networking, the guest itself in tap mode (from
// inside the namespace). It panics on a port the Config did not list.
func (g *Guest) Addr(guestPort int) string {
	if g.Network == Tap {
		return net.JoinHostPort(GuestIP, strconv.Itoa(guestPort))
	}
	host, ok := g.ports[guestPort]
	if !ok {
		panic(fmt.Sprintf("vm: guest port %d is not forwarded (Config.Ports)", guestPort))
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(host))
}

// URL is http://Addr(guestPort) followed by path.
func (g *Guest) URL(guestPort int, path string) string {
	return "http://" + g.Addr(guestPort) + path
}

// DialContext dials from where the guest is reachable: the host, or the
// guest's namespace in tap mode.
func (g *Guest) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if g.Network == Tap {
		return NewNetnsDialer(g.Netns).DialContext(ctx, network, address)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// Command is a command run where the guest is reachable: on the host, or
// inside the guest's namespace in tap mode (ip netns exec).
func (g *Guest) Command(name string, args ...string) *exec.Cmd {
	if g.Network == Tap {
		return exec.Command("ip", append([]string{"netns", "exec", g.Netns, name}, args...)...)
	}
	return exec.Command(name, args...)
}

// PID is QEMU's process id, once QEMU has written its pid file.
func (g *Guest) PID(ctx context.Context) (int, error) {
	for {
		if pid, ok := g.pidNow(); ok {
			return pid, nil
		}
		if err := g.waitTick(ctx, "QEMU's pid file"); err != nil {
			return 0, err
		}
	}
}

func (g *Guest) pidNow() (int, bool) {
	b, err := os.ReadFile(filepath.Join(g.dir, "qemu.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil
}

// waitTick sleeps a little, or fails if QEMU ended or ctx did.
func (g *Guest) waitTick(ctx context.Context, what string) error {
	select {
	case <-g.done:
		return fmt.Errorf("vm: QEMU ended before %s (%v)", what, g.err)
	case <-ctx.Done():
		return fmt.Errorf("vm: no %s: %w", what, context.Cause(ctx))
	case <-time.After(20 * time.Millisecond):
		return nil
	}
}

// Ready waits until the namespace and its tap exist in tap mode (qemu.sh
// says so before it starts QEMU); in user networking it returns at once.
func (g *Guest) Ready(ctx context.Context) error {
	if g.Network != Tap {
		return nil
	}
	_, _, err := g.Console.Await(ctx, "qemu.sh: network tap", 0)
	return err
}

// Accelerator is the accelerator qemu.sh chose ("tcg" or "kvm"), once it
// has said so; "" before.
func (g *Guest) Accelerator() string {
	for _, l := range g.Console.Lines() {
		if a, ok := strings.CutPrefix(l.Text, "qemu.sh: accelerator "); ok {
			return strings.TrimSpace(a)
		}
	}
	return ""
}

// QMP connects to the guest's QMP socket (Config.QMP).
func (g *Guest) QMP(ctx context.Context) (*qmp.Client, error) {
	if !g.Config.QMP {
		return nil, errors.New("vm: no QMP socket (Config.QMP)")
	}
	return qmp.Dial(ctx, g.QMPSocket())
}

// QMPSocket is the path of the QMP socket, for a client in another process.
func (g *Guest) QMPSocket() string { return filepath.Join(g.dir, "qmp.sock") }

// Done is closed when qemu.sh has ended.
func (g *Guest) Done() <-chan struct{} { return g.done }

// Wait waits for the guest to end by itself and returns qemu.sh's exit
// status (QEMU's, which is the guest's isa-debug-exit code*2+1 when it
// exits that way). When ctx ends first the guest is stopped and the error
// says so.
func (g *Guest) Wait(ctx context.Context) (int, error) {
	select {
	case <-g.done:
	case <-ctx.Done():
		g.Stop()
		return -1, fmt.Errorf("vm: guest still running: %w", context.Cause(ctx))
	}
	g.cleanup()
	var exit *exec.ExitError
	switch {
	case g.err == nil:
		return 0, nil
	case errors.As(g.err, &exit):
		return exit.ExitCode(), nil
	}
	return -1, g.err
}

// Stop ends the guest: SIGTERM to qemu.sh, which ends QEMU and removes its
// namespace; SIGKILL after a grace period; then whatever is left of the
// namespace is removed. It returns once QEMU's output has ended.
func (g *Guest) Stop() {
	g.stopOnce.Do(func() {
		select {
		case <-g.done:
		default:
			g.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-g.done:
			case <-time.After(stopGrace):
				// In tap mode QEMU is qemu.sh's child, holding the
				// console pipe open after qemu.sh is gone.
				if pid, ok := g.pidNow(); ok {
					syscall.Kill(pid, syscall.SIGKILL)
				}
				g.cmd.Process.Kill()
				<-g.done
			}
		}
		g.cleanup()
	})
}

func (g *Guest) cleanup() {
	if g.Network == Tap {
		removeNetns(g.Netns)
	}
	os.RemoveAll(g.dir)
}
