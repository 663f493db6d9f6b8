//go:build linux

package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tamanet/vm"
)

const (
	// adminOpts opens the unikernel's admin listener (boot phases, latency
	// trace) to the host as user networking and the tap show it.
	adminOpts   = "admin=8081 adminallow=10.0.2.2/32,fd00:1::2/128"
	guestIPv6   = "fd00:1::15"
	linuxCmd    = "console=ttyS0 quiet panic=-1"
	linuxTarget = "linux"
	// beforeTarget is the earlier build of -B.
	beforeTarget = "tamanet-before"
)

// interleave is the parsed command line of "interleave".
type interleave struct {
	uni, before, modes, out, accel, firmware, net string
	nic, machine                                  string      // qemu.sh -n and -M for every guest ("": its defaults, e1000 on pc)
	devices                                       nicVariants // -dev: the unikernel's NIC variants
	rounds                                        int
	idle                                          time.Duration
	ipv6, saveStats                               bool
	mtu                                           int
	runArgs                                       []string // tamabench run flags after --

	network  vm.Network
	targets  []string
	cmdline  map[string]string // a unikernel target's boot options
	nicOf    map[string]string // a -dev target's NIC (qemu.sh -n)
	base     string
	linux    string // bench/linux/build.sh's directory
	host     string // the guest as the client names it
	netNote  string // network mode, as results record it
	bootNote string
}

func interleaveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tamabench interleave", flag.ContinueOnError)
	c := &interleave{cmdline: map[string]string{"tamanet": ""}}
	fs.StringVar(&c.uni, "u", "", "unikernel image (none: the Linux baseline alone, no ratio table)")
	fs.StringVar(&c.before, "B", "", "an earlier build of the unikernel to compare -u with, same boot options (targets tamanet-before, the base, and tamanet); Linux is not booted")
	fs.StringVar(&c.modes, "n", "", "variants of the unikernel instead of Linux, compared with the first: napi= modes (napi,interrupt,busypoll) or boot options joined by + (offload=on,offload=off)")
	fs.IntVar(&c.rounds, "r", 3, "rounds; the order of the targets rotates every round")
	fs.StringVar(&c.out, "o", "", "output directory (default bench/results/<UTC time>)")
	fs.StringVar(&c.accel, "a", "auto", "accelerator: tcg, kvm or auto, decided once for the whole run (qemu.sh's -a says how and why)")
	fs.StringVar(&c.firmware, "f", "qboot", "firmware both guests boot through (qemu.sh -f): qboot or seabios")
	fs.StringVar(&c.net, "N", "user", "network: user (127.0.0.1 port forwards), tap (a namespace of its own holding the tap and the client) or auto (tap where allowed)")
	fs.DurationVar(&c.idle, "I", 10*time.Second, "idle CPU measurement per boot (0s skips it)")
	fs.BoolVar(&c.ipv6, "6", false, "measure over IPv6 (tap only): both guests at fd00:1::15/64, the tap fd00:1::2/64")
	fs.IntVar(&c.mtu, "U", 0, "every guest and the tap at this MTU (tap only); 0: 1500")
	fs.BoolVar(&c.saveStats, "S", false, "save each guest's /stats after its run as stats/TARGET-rROUND.json")
	fs.StringVar(&c.nic, "nic", "", "every guest's NIC, as qemu.sh -n takes it: e1000 (default) or virtio, then optional ,PROP=VALUE device properties; the Linux baseline loads that NIC's driver")
	fs.StringVar(&c.machine, "M", "", "every guest's machine (qemu.sh -M): pc (default), q35 or microvm (which needs -nic virtio)")
	fs.Var(&c.devices, "dev", "a variant of the unikernel's NIC, NAME=PROPS (repeatable): target tamanet-NAME booted with -nic plus the device properties PROPS (\"\" none; e.g. mrg-rxbuf-off=mrg_rxbuf=off), compared with the first; Linux is not booted")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	c.runArgs = fs.Args()
	if err := c.plan(stderr); err != nil {
		return err
	}
	for round := 1; round <= c.rounds; round++ {
		n := len(c.targets)
		for i := range n {
			t := c.targets[(i+round-1)%n]
			fmt.Fprintf(stderr, "interleave: round %d/%d: %s (net %s)\n", round, c.rounds, t, c.network)
			if err := c.measure(ctx, t, round, stdout, stderr); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(c.out, "network.txt"), []byte(c.netNote+"\n"), 0o644); err != nil {
		return err
	}
	if len(c.targets) >= 2 {
		if err := c.compare(stdout, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "interleave: results in %s\n", c.out)
	return nil
}

// plan checks the flags and decides the targets, network and accelerator.
func (c *interleave) plan(stderr io.Writer) error {
	if c.uni != "" {
		if _, err := os.Stat(c.uni); err != nil {
			return usagef("interleave: no unikernel image at %s", c.uni)
		}
	}
	if (c.modes != "" || c.before != "" || len(c.devices) > 0) && c.uni == "" {
		return usagef("interleave: -n, -B and -dev need -u")
	}
	if n := btoi(c.modes != "") + btoi(c.before != "") + btoi(len(c.devices) > 0); n > 1 {
		return usagef("interleave: one of -n, -B and -dev, not several")
	}
	if c.before != "" {
		if _, err := os.Stat(c.before); err != nil {
			return usagef("interleave: no earlier image at %s", c.before)
		}
	}
	if c.rounds < 1 || c.mtu < 0 || c.idle < 0 {
		return usagef("interleave: want -r >= 1, -U >= 0, -I >= 0")
	}
	var err error
	if c.network, err = resolveNet(c.net); err != nil {
		return err
	}
	if c.ipv6 && c.network != vm.Tap {
		return fmt.Errorf("interleave: -6 needs tap mode (-N tap), which this machine does not allow")
	}
	if c.mtu != 0 && c.network != vm.Tap {
		return usagef("interleave: -U %d needs tap mode (user networking stays at 1500)", c.mtu)
	}
	c.netNote = c.network.String()
	if c.nic != "" {
		c.netNote += ", nic " + c.nic
	}
	if c.machine != "" {
		c.netNote += ", machine " + c.machine
	}
	if c.ipv6 {
		c.netNote += " ipv6"
	}
	if c.mtu != 0 {
		c.netNote += " mtu " + strconv.Itoa(c.mtu)
	}
	fmt.Fprintf(stderr, "interleave: network %s\n", c.netNote)
	if c.out == "" {
		if c.out, err = resultsDir(utcStamp()); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	c.base = linuxTarget
	if c.modes != "" {
		for _, m := range strings.Split(c.modes, ",") {
			t, opts := variant(m)
			c.cmdline[t] = opts
			c.targets = append(c.targets, t)
		}
		c.base = c.targets[0]
	} else if len(c.devices) > 0 {
		c.nicOf = map[string]string{}
		for _, d := range c.devices {
			t := "tamanet-" + d.name
			if _, dup := c.nicOf[t]; dup {
				return usagef("interleave: -dev %s given twice", d.name)
			}
			c.nicOf[t] = joinProps(c.nic, d.props)
			c.targets = append(c.targets, t)
		}
		c.base = c.targets[0]
	} else if c.before != "" {
		c.targets = []string{beforeTarget, "tamanet"}
		c.base = beforeTarget
	} else {
		if c.linux, err = buildLinux(c.nic, stderr); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(c.linux, "manifest.txt"), filepath.Join(c.out, "linux-manifest.txt")); err != nil {
			return err
		}
		if c.uni != "" {
			c.targets = append(c.targets, "tamanet")
		}
		c.targets = append(c.targets, linuxTarget)
	}
	probe := c.uni
	if probe == "" {
		probe = filepath.Join(c.linux, "vmlinuz")
	}
	accel, err := resolveAccel(c.accel, probe, c.machine)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "interleave: accelerator %s (-a %s)\n", accel, c.accel)
	c.accel = accel
	c.bootNote = fmt.Sprintf("qemu %s, %s, net %s", c.accel, c.firmware, c.netNote)
	c.host = vm.GuestIP
	if c.ipv6 {
		c.host = guestIPv6
	}
	return nil
}

// variant is the target name and boot options of an -n variant: a napi=
// mode (busypoll: tamanet-busypoll, napi=busypoll) or boot options joined
// by "+" (offload=off+tick=off: tamanet-offload-off-tick-off, "offload=off
// tick=off").
func variant(m string) (target, bootOpts string) {
	if !strings.Contains(m, "=") {
		return "tamanet-" + m, "napi=" + m
	}
	return "tamanet-" + strings.NewReplacer("=", "-", "+", "-").Replace(m), strings.ReplaceAll(m, "+", " ")
}

// buildLinux builds (or finds cached) the Linux baseline for nic (qemu.sh
// -n: its model picks the driver the image loads) and returns its
// directory (vmlinuz, initramfs.cpio.gz, manifest.txt).
func buildLinux(nic string, stderr io.Writer) (string, error) {
	root, err := vm.RepoRoot()
	if err != nil {
		return "", err
	}
	model, _, _ := strings.Cut(nic, ",")
	cmd := exec.Command(filepath.Join(root, "bench", "linux", "build.sh"), "--nic", cmp.Or(model, "e1000"))
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("bench/linux/build.sh: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		return "", fmt.Errorf("bench/linux/build.sh printed no directory")
	}
	return lines[len(lines)-1], nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// config is target's guest.
func (c *interleave) config(target string) (vm.Config, error) {
	cfg := vm.Config{Accel: c.accel, Firmware: c.firmware, NIC: cmp.Or(c.nicOf[target], c.nic), Machine: c.machine, Network: c.network, TapMTU: c.mtu, TapIPv6: c.ipv6}
	var opts []string
	if target == linuxTarget {
		cfg.Image, cfg.Initrd = filepath.Join(c.linux, "vmlinuz"), filepath.Join(c.linux, "initramfs.cpio.gz")
		opts = append(opts, linuxCmd)
		if c.ipv6 {
			opts = append(opts, "bench.ip6="+guestIPv6+"/64")
		}
		if c.mtu != 0 {
			opts = append(opts, "bench.mtu="+strconv.Itoa(c.mtu))
		}
	} else {
		cfg.Image = c.uni
		if target == beforeTarget {
			cfg.Image = c.before
		}
		if k := c.cmdline[target]; k != "" {
			opts = append(opts, k)
		}
		if c.ipv6 {
			opts = append(opts, "ip6="+guestIPv6+"/64")
		}
		if c.mtu != 0 {
			opts = append(opts, "mtu="+strconv.Itoa(c.mtu))
		}
		opts = append(opts, adminOpts)
	}
	cfg.Cmdline = strings.Join(opts, " ")
	var err error
	cfg.Ports, err = forwards(target != linuxTarget)
	return cfg, err
}

// measure boots target, runs "tamabench run" against it where it is
// reachable (its table also to TARGET-rROUND.txt), saves its /stats with
// -S, and stops it.
func (c *interleave) measure(ctx context.Context, target string, round int, stdout, stderr io.Writer) error {
	log, err := consoleLog(filepath.Join(c.out, fmt.Sprintf("console-%s-r%d.log", target, round)))
	if err != nil {
		return err
	}
	defer log.Close()
	cfg, err := c.config(target)
	if err != nil {
		return err
	}
	g, err := vm.Start(cfg, log)
	if err != nil {
		return err
	}
	defer g.Stop()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pid, err := g.PID(wait)
	if err == nil {
		err = g.Ready(wait)
	}
	if err != nil {
		return fmt.Errorf("interleave: QEMU for %s did not start: %w; console:\n%s", target, err, g.Console.Text())
	}
	host := "127.0.0.1"
	run := []string{"run", "-name", target, "-round", strconv.Itoa(round)}
	if c.network == vm.Tap {
		host = c.host
		run = append(run, "-tap")
	}
	run = append(run, "-host", host, "-http-port", clientPort(g, guestHTTP),
		"-tcp-port", clientPort(g, guestEcho), "-udp-port", clientPort(g, guestEcho))
	if target != linuxTarget {
		run = append(run, "-admin-port", clientPort(g, guestAdmin))
	}
	run = append(run, "-boot-start", strconv.FormatInt(g.Start.UnixNano(), 10), "-boot-timeout", "300s")
	run = append(run, "-idle-pid", strconv.Itoa(pid), "-idle-time", c.idle.String())
	run = append(run, "-note", c.bootNote, "-out", c.out)
	run = append(run, c.runFlags(target)...)
	table, err := os.Create(filepath.Join(c.out, fmt.Sprintf("%s-r%d.txt", target, round)))
	if err != nil {
		return err
	}
	defer table.Close()
	if err := runSelf(ctx, g, io.MultiWriter(stdout, table), stderr, run...); err != nil {
		return err
	}
	if target == linuxTarget {
		if err := addLinuxPhases(filepath.Join(c.out, fmt.Sprintf("%s-r%d.json", target, round)), g); err != nil {
			fmt.Fprintf(stderr, "interleave: no boot phases for %s: %v\n", target, err)
		}
	}
	if c.saveStats {
		path := filepath.Join(c.out, "stats", fmt.Sprintf("%s-r%d.json", target, round))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := fetch(ctx, g, "http://"+c.addr(g, guestHTTP)+"/stats", path, 30*time.Second); err != nil {
			fmt.Fprintf(stderr, "interleave: no /stats from the guest: %v\n", err)
		}
	}
	return nil
}

// runFlags are the run flags given after -- for target. The Linux baseline
// has no latency trace (no admin listener): -trace is dropped for it, so
// it runs untraced beside a traced unikernel.
func (c *interleave) runFlags(target string) []string {
	if target != linuxTarget {
		return c.runArgs
	}
	var flags []string
	for _, f := range c.runArgs {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if name == "trace" && strings.HasPrefix(f, "-") {
			continue
		}
		flags = append(flags, f)
	}
	return flags
}

// addr is host:port at which the client reaches guest port p: the guest
// itself in tap mode (over IPv6 with -6), a forward on 127.0.0.1 in user
// networking.
func (c *interleave) addr(g *vm.Guest, p int) string {
	if c.network == vm.Tap {
		return net.JoinHostPort(c.host, strconv.Itoa(p))
	}
	return g.Addr(p)
}

// compare prints the ratio table of every round (ratio.txt, ratio.json and
// the combined plots in the output directory).
func (c *interleave) compare(stdout, stderr io.Writer) error {
	args := []string{"-base", c.base, "-json", filepath.Join(c.out, "ratio.json"), "-plots", c.out}
	for _, t := range c.targets {
		files, err := filepath.Glob(filepath.Join(c.out, t+"-r*.json"))
		if err != nil {
			return err
		}
		args = append(args, files...)
	}
	table, err := os.Create(filepath.Join(c.out, "ratio.txt"))
	if err != nil {
		return err
	}
	defer table.Close()
	return compareCmd(args, io.MultiWriter(stdout, table), stderr)
}

// nicVariant is one -dev: target tamanet-NAME with device properties
// props added to -nic's.
type nicVariant struct{ name, props string }

// nicVariants is the repeatable -dev flag.
type nicVariants []nicVariant

func (v *nicVariants) String() string {
	var s []string
	for _, d := range *v {
		s = append(s, d.name+"="+d.props)
	}
	return strings.Join(s, " ")
}

// Set takes NAME=PROPS: NAME becomes part of a target's name, PROPS are
// QEMU device properties (PROP=VALUE,...), possibly none.
func (v *nicVariants) Set(s string) error {
	name, props, ok := strings.Cut(s, "=")
	if !ok || name == "" || strings.ContainsAny(name, ",/ ") {
		return fmt.Errorf("%q: want NAME=PROPS, e.g. event-idx-off=event_idx=off or virtio= for none", s)
	}
	*v = append(*v, nicVariant{name, props})
	return nil
}

// joinProps adds device properties props to nic (qemu.sh -n: MODEL[,PROPS]),
// the model defaulting to qemu.sh's e1000.
func joinProps(nic, props string) string {
	if props == "" {
		return nic
	}
	return cmp.Or(nic, "e1000") + "," + props
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
