//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"tamanet/vm"
)

// The profile's window: it starts after the load's warm-up and first
// seconds, and lasts as long as the guest's CPU profile samples.
const (
	profileDelay  = 3 * time.Second
	profileWindow = 10 * time.Second
)

// profileCmd boots IMAGE over tap, runs one "tamabench run" test against
// it and, over the middle of it, takes the guest's CPU profile and the
// host CPU of each QEMU thread.
func profileCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tamabench profile", flag.ContinueOnError)
	bootOpts := fs.String("k", "", "boot options (admin=8081 is added)")
	secs := fs.Int("s", 20, "length of the test in seconds (at least 14: 10 s sampled after 3 s)")
	noProf := fs.Bool("P", false, "no guest CPU profile (sampling costs the guest a little)")
	out := fs.String("o", "", "output directory (default bench/results/profile-<UTC time>-TEST)")
	nic := fs.String("nic", "", "the NIC, as qemu.sh -n takes it: e1000 (default) or virtio, then optional ,PROP=VALUE device properties")
	accel := fs.String("a", "auto", "accelerator: tcg, kvm or auto (qemu.sh's -a says how auto decides)")
	conns := fs.String("c", "16", "connection count of an rps test (one: each count runs the whole test)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("profile: want [flags] IMAGE TEST")
	}
	image, test := fs.Arg(0), fs.Arg(1)
	if _, err := os.Stat(image); err != nil {
		return usagef("profile: no image at %s", image)
	}
	if _, err := parseTests(test); err != nil {
		return usageError{err.Error()}
	}
	if time.Duration(*secs)*time.Second < profileDelay+profileWindow+time.Second {
		return usagef("profile: -s %d: want at least 14 (10 s sampled after 3 s)", *secs)
	}
	if err := vm.TapAvailable(); err != nil {
		return fmt.Errorf("profile: needs tap mode: %w", err)
	}
	a, err := resolveAccel(*accel, image, "")
	if err != nil {
		return err
	}
	if *out == "" {
		if *out, err = resultsDir("profile-" + utcStamp() + "-" + test); err != nil {
			return err
		}
	}
	log, err := consoleLog(filepath.Join(*out, "console.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmdline := strings.TrimSpace(*bootOpts + " admin=8081")
	g, err := vm.Start(vm.Config{Image: image, Cmdline: cmdline, Accel: a, NIC: *nic, Network: vm.Tap}, log)
	if err != nil {
		return err
	}
	defer g.Stop()
	up, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := g.AwaitHTTP(up, g.URL(guestHTTP, "/")); err != nil {
		return fmt.Errorf("profile: the guest did not answer (%w); console in %s", err, log.Name())
	}
	bench, err := os.Create(filepath.Join(*out, "bench.txt"))
	if err != nil {
		return err
	}
	defer bench.Close()
	loadDone := make(chan error, 1)
	go func() {
		loadDone <- runSelf(ctx, g, bench, bench, "run", "-q", "-tap", "-host", vm.GuestIP,
			"-http-port", strconv.Itoa(guestHTTP), "-tcp-port", strconv.Itoa(guestEcho), "-udp-port", strconv.Itoa(guestEcho),
			"-tests", test, "-concurrency", *conns, "-warmup", "1s", "-duration", strconv.Itoa(*secs)+"s")
	}()
	shares, profErr := sampleWindow(ctx, g, !*noProf, filepath.Join(*out, "cpu.pprof"))
	if err := <-loadDone; err != nil {
		b, _ := os.ReadFile(bench.Name())
		return fmt.Errorf("profile: %w:\n%s", err, b)
	}
	if profErr != nil {
		return profErr
	}
	if err := fetch(ctx, g, g.URL(guestHTTP, "/stats"), filepath.Join(*out, "stats.json"), 10*time.Second); err != nil {
		fmt.Fprintln(stderr, "profile: no /stats:", err)
	}
	if err := os.WriteFile(filepath.Join(*out, "threads.txt"), []byte(shares), 0o644); err != nil {
		return err
	}
	b, _ := os.ReadFile(bench.Name())
	fmt.Fprintf(stdout, "%s%s", b, shares)
	fmt.Fprintf(stdout, "profile: results in %s\n", *out)
	return nil
}

// sampleWindow waits profileDelay, then over profileWindow takes the
// guest's CPU profile into pprofPath (if prof) and returns each QEMU
// thread's share of a core over the same window, as threads.txt holds it.
func sampleWindow(ctx context.Context, g *vm.Guest, prof bool, pprofPath string) (string, error) {
	if err := sleep(ctx, profileDelay); err != nil {
		return "", err
	}
	t0, err := g.Threads(ctx)
	if err != nil {
		return "", err
	}
	start := time.Now()
	if prof {
		url := fmt.Sprintf("http://%s:%d/debug/pprof/profile?seconds=%d", vm.GuestIP, guestAdmin, int(profileWindow/time.Second))
		if err := fetch(ctx, g, url, pprofPath, 60*time.Second); err != nil {
			return "", fmt.Errorf("profile: guest CPU profile: %w", err)
		}
	} else if err := sleep(ctx, profileWindow); err != nil {
		return "", err
	}
	t1, err := g.Threads(ctx)
	if err != nil {
		return "", err
	}
	return threadShares(t0, t1, time.Since(start)), nil
}

// sleep waits d, or fails when ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// threadShares is a line per thread present at both samples: its id, name
// and share of a core over wall time, busiest first.
func threadShares(t0, t1 []vm.Thread, wall time.Duration) string {
	before := map[int]time.Duration{}
	for _, t := range t0 {
		before[t.TID] = t.CPU
	}
	type share struct {
		vm.Thread
		pct float64
	}
	var s []share
	for _, t := range t1 {
		if cpu, ok := before[t.TID]; ok {
			s = append(s, share{t, 100 * float64(t.CPU-cpu) / float64(wall)})
		}
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].pct > s[j].pct })
	var b strings.Builder
	for _, t := range s {
		fmt.Fprintf(&b, "%-8d %-18s %6.1f%% of a core\n", t.TID, strings.ReplaceAll(t.Name, " ", "_"), t.pct)
	}
	return b.String()
}
