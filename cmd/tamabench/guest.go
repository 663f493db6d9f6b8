//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"tamanet/vm"
)

// This file holds what the commands that boot their own guests
// (interleave, profile, soak -image) share: the choice of network and
// accelerator, and the child tamabench measuring from where the guest is
// reachable.

// resolveNet reads user, tap or auto (tap where this machine allows it,
// else user); tap asked for but unavailable is an error.
func resolveNet(s string) (vm.Network, error) {
	switch s {
	case "user":
		return vm.User, nil
	case "tap":
		if err := vm.TapAvailable(); err != nil {
			return 0, fmt.Errorf("tap mode asked for but unavailable: %w", err)
		}
		return vm.Tap, nil
	case "auto":
		if vm.TapAvailable() == nil {
			return vm.Tap, nil
		}
		return vm.User, nil
	}
	return 0, usagef("network %q: want user, tap or auto", s)
}

// resolveAccel gives tcg or kvm for accel (tcg, kvm or auto), deciding
// auto once, with image on machine ("": pc), as qemu.sh's -a auto would:
// every guest of the run then boots on the same accelerator.
func resolveAccel(accel, image, machine string) (string, error) {
	switch accel {
	case "tcg", "kvm":
		return accel, nil
	case "auto":
		return vm.ResolveAccel(image, machine)
	}
	return "", usagef("accelerator %q: want tcg, kvm or auto", accel)
}

// Guest-side ports of the service both guests run: HTTP on 80, TCP and
// UDP echo on 7; the unikernel's admin listener (boot option admin=) on
// 8081.
const (
	guestHTTP  = 80
	guestEcho  = 7
	guestAdmin = 8081
)

// forwards are user networking's forwards of the guest ports (the admin
// listener's too if admin): from TB_HTTP_PORT, TB_ECHO_PORT and
// TB_ADMIN_PORT on 127.0.0.1 when set, else from free ports.
func forwards(admin bool) ([]vm.Port, error) {
	ports := []vm.Port{{Guest: guestHTTP}, {Guest: guestEcho, UDP: true}}
	if admin {
		ports = append(ports, vm.Port{Guest: guestAdmin})
	}
	env := map[int]string{guestHTTP: "TB_HTTP_PORT", guestEcho: "TB_ECHO_PORT", guestAdmin: "TB_ADMIN_PORT"}
	for i, p := range ports {
		s := os.Getenv(env[p.Guest])
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 65535 {
			return nil, usagef("%s=%q: want a port number", env[p.Guest], s)
		}
		ports[i].Host = n
	}
	return ports, nil
}

// runSelf runs this tamabench with args where g is reachable (inside its
// namespace in tap mode). The child is interrupted when ctx ends and
// killed if this process dies first.
func runSelf(ctx context.Context, g *vm.Guest, stdout, stderr io.Writer, args ...string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := g.Command(self, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer context.AfterFunc(ctx, func() { cmd.Process.Signal(os.Interrupt) })()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("tamabench %s: %w", args[0], err)
	}
	return nil
}

// clientPort is the port the client names for guest port p: p itself in
// tap mode, its forward on 127.0.0.1 in user networking.
func clientPort(g *vm.Guest, p int) string {
	_, port, _ := net.SplitHostPort(g.Addr(p))
	return port
}

// resultsDir is bench/results/NAME in the checkout.
func resultsDir(name string) (string, error) {
	root, err := vm.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bench", "results", name), nil
}

// utcStamp names a run's directory by its start (the scripts' date -u
// +%Y%m%dT%H%M%SZ).
func utcStamp() string { return time.Now().UTC().Format("20060102T150405Z") }

// fetch GETs url from where g is reachable and writes the body to path.
func fetch(ctx context.Context, g *vm.Guest, url, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	c := g.HTTPClient()
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// consoleLog creates path for a guest's console.
func consoleLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.Create(path)
}

// accelCmd prints the accelerator a run with -a ACCEL on IMAGE uses (auto
// decided as qemu.sh decides it), so a script booting several guests can
// decide once.
func accelCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tamabench accel", flag.ContinueOnError)
	accel := fs.String("a", "auto", "tcg, kvm or auto")
	machine := fs.String("M", "", "the machine the run boots (qemu.sh -M; default pc)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("accel: want [-a tcg|kvm|auto] IMAGE")
	}
	a, err := resolveAccel(*accel, fs.Arg(0), *machine)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, a)
	return nil
}
