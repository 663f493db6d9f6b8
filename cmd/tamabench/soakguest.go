//go:build linux

package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tamanet/vm"
)

// readyWait bounds the wait for the unikernel's READY line under TCG.
const readyWait = 5 * time.Minute

// guestSoak is "tamabench soak -image": the guest the soak boots itself.
type guestSoak struct {
	image, network, accel string
	nic                   string // qemu.sh -n
	out, note             string
	duration              time.Duration
	args                  []string // the soak flags to pass on to the child
}

// run boots the unikernel with a QMP socket and its admin listener, waits
// for READY, and runs the soak against it with this binary as a child
// where the guest is reachable. The console goes to console.log in out,
// the child's summary also to soak.txt; the accelerator and network are in
// the report's note (bench/soak.sh records the machine and its load in
// summary/).
func (s guestSoak) run(ctx context.Context, stdout, stderr io.Writer) error {
	n, err := resolveNet(s.network)
	if err != nil {
		return err
	}
	accel, err := resolveAccel(s.accel, s.image, "")
	if err != nil {
		return err
	}
	ports, err := forwards(true)
	if err != nil {
		return err
	}
	log, err := consoleLog(filepath.Join(s.out, "console.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(stderr, "soak: booting %s (accel %s, network %s, nic %s)\n", s.image, accel, n, cmp.Or(s.nic, "e1000"))
	g, err := vm.Start(vm.Config{Image: s.image, Cmdline: "admin=" + strconv.Itoa(guestAdmin), Accel: accel, NIC: s.nic, Network: n, Ports: ports, QMP: true}, log)
	if err != nil {
		return err
	}
	defer g.Stop()
	ready, err := awaitReady(ctx, g)
	if err != nil {
		return fmt.Errorf("soak: %w; console:\n%s", err, g.Console.Text())
	}
	fmt.Fprintln(stderr, ready)
	host, args := "127.0.0.1", []string{"soak"}
	if n == vm.Tap {
		host, args = vm.GuestIP, append(args, "-tap")
	}
	note := fmt.Sprintf("qemu %s, net %s, nic %s", accel, n, cmp.Or(s.nic, "e1000"))
	if s.note != "" {
		note = s.note + ", " + note
	}
	args = append(args, "-host", host, "-http-port", clientPort(g, guestHTTP), "-tcp-port", clientPort(g, guestEcho),
		"-udp-port", clientPort(g, guestEcho), "-admin-port", clientPort(g, guestAdmin), "-qmp", g.QMPSocket(),
		"-out", s.out, "-note", note)
	summary, err := os.Create(filepath.Join(s.out, "soak.txt"))
	if err != nil {
		return err
	}
	defer summary.Close()
	runErr := runSelf(ctx, g, io.MultiWriter(stdout, summary), stderr, append(args, s.args...)...)
	fmt.Fprintf(stderr, "soak: results in %s\n", s.out)
	return runErr
}

// awaitReady waits for the line the unikernel prints once it serves.
func awaitReady(ctx context.Context, g *vm.Guest) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	for from := 0; ; {
		l, i, err := g.Console.Await(ctx, "READY", from)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(l.Text, "READY") {
			return l.Text, nil
		}
		from = i + 1
	}
}
