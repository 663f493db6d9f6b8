//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"tamanet/cmd/tamabench/internal/load"
	"tamanet/cmd/tamabench/internal/plot"
	"tamanet/cmd/tamabench/internal/soak"
)

// errSoakFailed is a soak run that finished but failed a check (exit 1).
var errSoakFailed = errors.New("soak failed")

// soakCmd runs the soak: mixed load, link flaps through QEMU's monitor,
// /stats samples, and writes soak.json and the plots to -out. With -image
// it boots the guest itself (guestSoak) and runs itself against it.
func soakCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tamabench soak", flag.ContinueOnError)
	c := soak.Defaults
	host := fs.String("host", "127.0.0.1", "target host (loopback only, or see -tap)")
	httpPort := fs.Int("http-port", 8080, "HTTP port")
	tcpPort := fs.Int("tcp-port", 8007, "TCP echo port")
	udpPort := fs.Int("udp-port", 8007, "UDP echo port")
	adminPort := fs.Int("admin-port", 8081, "the unikernel's admin listener (boot option admin=), for POST /debug/gc")
	fs.StringVar(&c.QMP, "qmp", "", "QEMU monitor socket, for a link flap every -flap-every (none: no flaps)")
	fs.StringVar(&c.NetDev, "netdev", c.NetDev, "QEMU netdev of the NIC, flapped with set_link")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "length of the run")
	fs.DurationVar(&c.Sample, "sample", c.Sample, "period of the /stats samples")
	fs.DurationVar(&c.FlapEvery, "flap-every", c.FlapEvery, "period of the link flaps")
	fs.DurationVar(&c.FlapDown, "flap-down", c.FlapDown, "how long each flap keeps the link down")
	fs.DurationVar(&c.FlapGrace, "flap-grace", c.FlapGrace, "failures up to this long after a flap are blamed on it")
	fs.IntVar(&c.Idle, "idle", c.Idle, "idle TCP echo connections held open")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "per-request timeout (bulk: ten times it)")
	bulk := fs.String("bulk-size", "1M", "bytes per download and upload (K, M, G suffixes)")
	out := fs.String("out", "", "directory for soak.json and the plots (required without -image; with it, default bench/results/soak-<UTC time>)")
	image := fs.String("image", "", "boot this unikernel image (QMP socket, admin=8081), wait for READY and soak it; the target flags (-host, ports, -qmp, -tap) are then decided here")
	network := fs.String("net", "user", "with -image: user, tap or auto (tap where allowed)")
	nic := fs.String("nic", "", "with -image: "+"the NIC, as qemu.sh -n takes it: e1000 (default) or virtio, then optional ,PROP=VALUE device properties")
	accel := fs.String("accel", "auto", "with -image: tcg, kvm or auto (qemu.sh's -a says how auto decides)")
	note := fs.String("note", "", "free text recorded with the settings (e.g. qemu tcg, net user)")
	tap := fs.Bool("tap", false, "also allow a private target address on the subnet of a local tap (run inside qemu.sh's namespace)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *image != "" {
		return soakImage(ctx, fs, guestSoak{image: *image, network: *network, nic: *nic, accel: *accel, out: *out, note: *note, duration: c.Duration}, stdout, stderr)
	}
	if fs.NArg() > 0 || *out == "" {
		return usagef("soak: want -out DIR (or -image IMAGE) and no arguments")
	}
	var err error
	if c.BulkBytes, err = parseSize(*bulk); err != nil {
		return usageError{err.Error()}
	}
	hp := func(p int) string { return net.JoinHostPort(*host, strconv.Itoa(p)) }
	c.HTTP, c.TCP, c.UDP, c.Admin = hp(*httpPort), hp(*tcpPort), hp(*udpPort), hp(*adminPort)
	check := load.CheckLoopback
	if *tap {
		check = load.CheckOnTap
	}
	for _, a := range []string{c.HTTP, c.TCP, c.UDP, c.Admin} {
		if err := check(a); err != nil {
			return usageError{err.Error()}
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	c.Log = stderr
	rep, err := soak.Run(ctx, c, *note)
	if err != nil {
		return err
	}
	if err := writeSoak(*out, rep); err != nil {
		return err
	}
	printSoak(stdout, rep)
	if !rep.Pass {
		return errSoakFailed
	}
	return nil
}

// soakImage checks a soak -image command line and runs it, passing the
// soak flags given on to the child; the target's are the guest's.
func soakImage(ctx context.Context, fs *flag.FlagSet, s guestSoak, stdout, stderr io.Writer) error {
	if fs.NArg() > 0 {
		return usagef("soak: unexpected argument %q", fs.Arg(0))
	}
	own := map[string]bool{"image": true, "net": true, "accel": true, "out": true, "note": true}
	target := map[string]bool{"host": true, "http-port": true, "tcp-port": true, "udp-port": true, "admin-port": true, "qmp": true, "tap": true}
	var bad error
	fs.Visit(func(f *flag.Flag) {
		switch {
		case target[f.Name]:
			bad = usagef("soak: -%s and -image: with -image the guest is the target", f.Name)
		case !own[f.Name]:
			s.args = append(s.args, "-"+f.Name+"="+f.Value.String())
		}
	})
	if bad != nil {
		return bad
	}
	if s.out == "" {
		var err error
		if s.out, err = resultsDir("soak-" + utcStamp()); err != nil {
			return err
		}
	}
	return s.run(ctx, stdout, stderr)
}

// writeSoak writes soak.json and the heap and goroutine plots.
func writeSoak(dir string, rep *soak.Report) error {
	f, err := os.Create(filepath.Join(dir, "soak.json"))
	if err != nil {
		return err
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	var t, heap, alloc, gor, conns []float64
	for _, s := range rep.Samples {
		t = append(t, s.AtS)
		heap = append(heap, float64(s.HeapLiveBytes)/(1<<20))
		alloc = append(alloc, float64(s.HeapAllocBytes)/(1<<20))
		gor = append(gor, float64(s.Goroutines))
		conns = append(conns, float64(s.TCPEstablished))
	}
	var flaps [][2]float64
	for _, fl := range rep.Flaps {
		flaps = append(flaps, [2]float64{fl.DownS, fl.UpS})
	}
	if err := plot.TimeSeries(filepath.Join(dir, "soak-heap.png"), "guest heap (link flaps shaded)", "MiB",
		[]plot.Series{{Label: "live after a forced GC", X: t, Y: heap}, {Label: "allocated at the sample", X: t, Y: alloc}}, flaps); err != nil {
		return err
	}
	return plot.TimeSeries(filepath.Join(dir, "soak-goroutines.png"), "guest goroutines and TCP connections (link flaps shaded)", "count",
		[]plot.Series{{Label: "goroutines", X: t, Y: gor}, {Label: "TCP established", X: t, Y: conns}}, flaps)
}

// printSoak prints the report's figures and verdict.
func printSoak(w io.Writer, rep *soak.Report) {
	fmt.Fprintf(w, "soak: %.0f s, %d requests, %d bytes checked, %d mismatches, %d failures outside flaps (%d excused), %d flaps, %d samples\n",
		rep.DurationS, rep.Requests, rep.BytesChecked, rep.Mismatches, len(rep.Failures), rep.Excused, len(rep.Flaps), len(rep.Samples))
	for _, name := range []string{"get_keepalive", "get_newconn", "download", "upload", "tcp_echo", "udp_echo", "idle_echo"} {
		if c := rep.Ops[name]; c != nil {
			fmt.Fprintf(w, "  %-14s ok %7d  failed %3d  excused %3d  bytes checked %d\n", name, c.OK, c.Failed, c.Excused, c.BytesChecked)
		}
	}
	fmt.Fprintf(w, "  idle connections: %d opened, %d echoed at the end\n", rep.Idle.Opened, rep.Idle.Held)
	h, g := rep.Heap, rep.Goroutines
	fmt.Fprintf(w, "  heap live after GC: first %.2f MiB, last %.2f MiB; max first third %.2f MiB, last third %.2f MiB (%+.1f%%)\n",
		mib(h.First), mib(h.Last), mib(h.FirstThirdMax), mib(h.LastThirdMax), h.GrowthPercent)
	fmt.Fprintf(w, "  goroutines: first %d, last %d; max first third %d, last third %d (%+.1f%%)\n",
		g.First, g.Last, g.FirstThirdMax, g.LastThirdMax, g.GrowthPercent)
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  failure at %.1f s (%s, %.1f s): %s\n", f.AtS, f.Op, f.TookS, f.Error)
	}
	if rep.Pass {
		fmt.Fprintln(w, "soak: PASS")
		return
	}
	for _, r := range rep.Reasons {
		fmt.Fprintf(w, "soak: FAIL: %s\n", r)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
