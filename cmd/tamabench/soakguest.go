//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"tamanet/vm"
)

// readyWait bounds the wait for the unikernel's READY line under TCG.
const readyWait = 5 * time.Minute

// guestSoak is "tamabench soak -image": the guest the soak boots itself.
type guestSoak struct {
	image, network, accel string
	out, note             string
	duration              time.Duration
	args                  []string // the soak flags to pass on to the child
}

// run boots the unikernel with a QMP socket and its admin listener, waits
// for READY, and runs the soak against it with this binary as a child
// where the guest is reachable. The console and the machine go to
// console.log and machine.txt in out, the child's summary also to
// soak.txt.
func (s guestSoak) run(ctx context.Context, stdout, stderr io.Writer) error {
	n, err := resolveNet(s.network)
	if err != nil {
		return err
	}
	accel, err := resolveAccel(s.accel, s.image)
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
	machine := filepath.Join(s.out, "machine.txt")
	settings := fmt.Sprintf("accel %s, network %s, duration %s", accel, n, s.duration)
	if err := os.WriteFile(machine, []byte(machineText(settings)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "soak: booting %s (accel %s, network %s)\n", s.image, accel, n)
	g, err := vm.Start(vm.Config{Image: s.image, Cmdline: "admin=8081", Accel: accel, Network: n, Ports: ports, QMP: true}, log)
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
	note := fmt.Sprintf("qemu %s, net %s", accel, n)
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
	if f, err := os.OpenFile(machine, os.O_APPEND|os.O_WRONLY, 0); err == nil {
		fmt.Fprintf(f, "uptime after: %s\n", output("uptime"))
		f.Close()
	}
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

// machineText is machine.txt before the run: the host, its load, and the
// run's settings.
func machineText(settings string) string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("uname: %s\ncpu: %s x %d\nqemu: %s\nsettings: %s\nuptime before: %s\n",
		output("uname", "-srm"), model, runtime.NumCPU(), firstLine(output("qemu-system-x86_64", "--version")), settings, output("uptime"))
}

// output is a command's trimmed output, or what went wrong.
func output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return fmt.Sprintf("(%s: %v)", name, err)
	}
	return strings.TrimSpace(string(b))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
