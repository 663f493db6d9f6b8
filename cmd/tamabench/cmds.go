//go:build linux

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"time"

	"tamanet/cmd/tamabench/internal/compare"
	"tamanet/cmd/tamabench/internal/load"
	"tamanet/cmd/tamabench/internal/result"
)

// bootCmd polls the target until its first 200 and prints the time since
// -start.
func bootCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tamabench boot", flag.ContinueOnError)
	target := fs.String("url", "http://127.0.0.1:8080/", "URL to poll (loopback only)")
	admin := fs.String("admin", "", "the unikernel's admin listener, http://HOST:PORT (boot option admin=), for its boot phases; empty: none")
	start := fs.String("start", "now", "instant the boot began: Unix ns (date +%s%N), RFC 3339 or now")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	interval := fs.Duration("interval", 10*time.Millisecond, "poll interval")
	connect := fs.Duration("connect", 100*time.Millisecond, "each poll gives up connecting after this long")
	jsonOut := fs.Bool("json", false, "print the result as a JSON test object")
	tap := fs.Bool("tap", false, "also allow a private target on the subnet of a local tap (qemu.sh tap mode, inside its namespace), whose neighbour resolution is tuned meanwhile (-neigh-retrans)")
	neigh := fs.Duration("neigh-retrans", load.BootNeighbourRetrans, "with -tap: the tap's ARP retransmission time while polling, with a queue of a few packets awaiting resolution (0 leaves both alone)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	t0, err := parseStart(*start, time.Now())
	if err != nil {
		return usageError{err.Error()}
	}
	for _, u := range []string{*target, *admin} {
		if u == "" {
			continue
		}
		if err := checkURL(u, *tap); err != nil {
			return usageError{err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *tap && *neigh > 0 {
		u, _ := url.Parse(*target)
		restore, err := load.BootNeighbourProbing(u.Hostname(), *neigh)
		if err != nil {
			return err
		}
		defer restore()
	}
	t, err := load.WaitFirst200(ctx, *target, t0, load.BootProbe{Interval: *interval, Connect: *connect})
	if err != nil {
		return err
	}
	if u, err := url.Parse(*admin); *admin != "" && err == nil {
		if t.Phases, err = load.BootPhases(ctx, u.Scheme+"://"+u.Host, t0); err != nil {
			fmt.Fprintln(stderr, "tamabench: no boot phases:", err)
		}
	}
	if *jsonOut {
		b, _ := json.Marshal(t)
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	fmt.Fprintf(stdout, "boot-to-first-response %.0f ms (%d failed attempts before it)\n", t.ElapsedMS, t.Errors)
	for _, p := range t.Phases {
		fmt.Fprintf(stdout, "  %8.1f ms  %s\n", p.MS, p.Name)
	}
	return nil
}

// checkURL applies the loopback rule (with tap, the tap rule) to an
// http:// URL.
func checkURL(s string, tap bool) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("url %q: want http://HOST:PORT/PATH", s)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	if tap {
		return load.CheckOnTap(host)
	}
	return load.CheckLoopback(host)
}

// compareCmd prints the ratio table of result files and optionally writes
// it as JSON and draws the combined plots.
func compareCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tamabench compare", flag.ContinueOnError)
	base := fs.String("base", "linux", "target every other target is compared with")
	jsonPath := fs.String("json", "", "also write the table as JSON to this file")
	plots := fs.String("plots", "", "directory for combined plots (CDF per latency test, rps sweep)")
	format := fs.String("format", "png", "plot format: png or svg")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("compare: want two or more result files")
	}
	if *format != "png" && *format != "svg" {
		return usagef("format %q: want png or svg", *format)
	}
	var files []*result.File
	for _, p := range fs.Args() {
		f, err := result.Load(p)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	tab, err := compare.Compare(files, *base)
	if err != nil {
		return err
	}
	if err := compare.WriteText(stdout, tab); err != nil {
		return err
	}
	if *jsonPath != "" {
		if err := result.WriteJSON(*jsonPath, tab); err != nil {
			return err
		}
	}
	if *plots != "" {
		if err := os.MkdirAll(*plots, 0o755); err != nil {
			return err
		}
		written, err := writePlots(*plots, "compare-", *format, files)
		for _, p := range written {
			fmt.Fprintln(stderr, "wrote", p)
		}
		return err
	}
	return nil
}
