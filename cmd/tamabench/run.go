//go:build linux

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"tamanet/cmd/tamabench/internal/load"
	"tamanet/cmd/tamabench/internal/result"
)

// runConfig is the parsed command line of "run".
type runConfig struct {
	target    result.Target
	tests     map[string]bool
	levels    []int
	opts      load.Options
	round     int
	out       string
	format    string
	jsonOut   bool
	strict    bool
	bootStart string
	bootWait  time.Duration
	bootProbe load.BootProbe
	// neighRetrans, in tap mode, is the ARP retransmission time of the tap
	// while waiting for the first 200 (0: left alone; see
	// load.BootNeighbourProbing).
	neighRetrans time.Duration
	tap          bool
	// trace runs the latency tests with the guest's latency trace on and
	// explains their slowest requests.
	trace bool
	// admin is the guest's admin listener, host:port ("" if none): its
	// boot phases and latency trace are served there.
	admin    string
	idlePID  int
	idleTime time.Duration
	idleWait time.Duration
}

func parseRun(args []string, stderr io.Writer) (*runConfig, error) {
	fs := flag.NewFlagSet("tamabench run", flag.ContinueOnError)
	c := &runConfig{opts: load.DefaultOptions()}
	name := fs.String("name", "target", "target name in results (e.g. tamanet, linux)")
	host := fs.String("host", "127.0.0.1", "target host (loopback only)")
	httpPort := fs.Int("http-port", 8080, "HTTP port")
	tcpPort := fs.Int("tcp-port", 8007, "TCP echo port")
	udpPort := fs.Int("udp-port", 8007, "UDP echo port")
	adminPort := fs.Int("admin-port", 0, "the unikernel's admin listener (boot option admin=), for its boot phases and -trace; 0: none")
	tests := fs.String("tests", "all", "comma-separated tests: all or keepalive,newconn,tcpecho,udpecho,rps,download,upload")
	levels := fs.String("concurrency", "1,4,16,64", "connection counts of the rps sweep")
	fs.DurationVar(&c.opts.Duration, "duration", c.opts.Duration, "measured time per test (per level for rps)")
	fs.DurationVar(&c.opts.Warmup, "warmup", c.opts.Warmup, "unrecorded warm-up before each test")
	fs.IntVar(&c.opts.MaxOps, "max-ops", 0, "stop each test after this many operations (0: duration only)")
	fs.DurationVar(&c.opts.Timeout, "timeout", c.opts.Timeout, "per-operation timeout (bulk: per MiB)")
	fs.StringVar(&c.opts.Path, "path", c.opts.Path, "GET path of the latency and rps tests")
	fs.IntVar(&c.opts.EchoSize, "echo-size", c.opts.EchoSize, "TCP/UDP echo payload bytes")
	bulk := fs.String("bulk-size", "8M", "bytes per bulk request (K, M, G suffixes)")
	fs.IntVar(&c.round, "round", 0, "interleaving round recorded in the result")
	fs.StringVar(&c.target.Note, "note", "", "free text recorded with the target (e.g. qemu tcg)")
	fs.StringVar(&c.out, "out", "", "directory for NAME-rROUND.json and plots")
	fs.StringVar(&c.format, "format", "png", "plot format: png or svg")
	fs.BoolVar(&c.jsonOut, "json", false, "print the JSON result on stdout instead of the table")
	fs.BoolVar(&c.strict, "strict", false, "exit 1 if any operation failed")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	fs.StringVar(&c.bootStart, "boot-start", "", "first wait for the first 200 and record boot time since this instant (Unix ns, RFC 3339)")
	fs.DurationVar(&c.bootWait, "boot-timeout", 5*time.Minute, "give up waiting for the first 200 after this long")
	fs.DurationVar(&c.bootProbe.Interval, "boot-interval", 10*time.Millisecond, "time between boot polls")
	fs.DurationVar(&c.bootProbe.Connect, "boot-connect", 100*time.Millisecond, "each boot poll gives up connecting after this long (a fresh one is already on its way)")
	fs.DurationVar(&c.neighRetrans, "boot-neigh-retrans", load.BootNeighbourRetrans, "with -tap: the tap's ARP retransmission time while waiting for the first 200, and a queue of a few packets awaiting resolution (0 leaves both alone)")
	fs.IntVar(&c.idlePID, "idle-pid", 0, "the guest's QEMU process: its host CPU per MB or request in every test; after the boot wait, its host CPU while no traffic flows; with -trace, its threads' waits for a host CPU")
	fs.DurationVar(&c.idleTime, "idle-time", 10*time.Second, "length of the idle CPU measurement (0s skips it)")
	fs.DurationVar(&c.idleWait, "idle-settle", 2*time.Second, "quiet time before the idle CPU measurement")
	fs.BoolVar(&c.trace, "trace", false, "run the latency tests with the guest's latency trace on (GET /debug/trace) and explain their slowest 0.1% of requests")
	fs.BoolVar(&c.tap, "tap", false, "also allow a private target address on the subnet of a local tap (qemu.sh tap mode, run inside its namespace)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("run: unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.tests, err = parseTests(*tests); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.levels, err = parseLevels(*levels); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.opts.BulkBytes, err = parseSize(*bulk); err != nil {
		return nil, usageError{err.Error()}
	}
	if err := c.opts.Check(); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.format != "png" && c.format != "svg" {
		return nil, usagef("format %q: want png or svg", c.format)
	}
	hp := func(p int) string { return net.JoinHostPort(*host, strconv.Itoa(p)) }
	c.target.Name, c.target.HTTP, c.target.TCPEcho, c.target.UDPEcho = *name, hp(*httpPort), hp(*tcpPort), hp(*udpPort)
	if *adminPort != 0 {
		c.admin = hp(*adminPort)
	}
	if c.trace && c.admin == "" {
		return nil, usagef("-trace needs -admin-port: the latency trace is on the guest's admin listener")
	}
	if c.idlePID < 0 || c.idleTime < 0 || c.idleWait < 0 {
		return nil, usagef("idle: want a pid >= 0, -idle-time >= 0 and -idle-settle >= 0")
	}
	check := load.CheckLoopback
	if c.tap {
		check = load.CheckOnTap
	}
	if c.bootProbe.Interval <= 0 || c.bootProbe.Connect <= 0 || c.neighRetrans < 0 {
		return nil, usagef("boot polling: want a positive -boot-interval and -boot-connect, -boot-neigh-retrans >= 0")
	}
	for _, a := range []string{c.target.HTTP, c.target.TCPEcho, c.target.UDPEcho, c.admin} {
		if a == "" {
			continue
		}
		if err := check(a); err != nil {
			return nil, usageError{err.Error()}
		}
	}
	if !*quiet {
		c.opts.Progress = stderrProgress(stderr)
	}
	return c, nil
}

// stderrProgress updates one line in place on a terminal and prints a line
// every 2 s otherwise (logs).
func stderrProgress(w io.Writer) *load.Progress {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return &load.Progress{W: w, Interval: time.Second, Overwrite: true}
		}
	}
	return &load.Progress{W: w, Interval: 2 * time.Second}
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseRun(args, stderr)
	if err != nil {
		return err
	}
	f := &result.File{
		Schema:  result.Schema,
		Target:  c.target,
		Round:   c.round,
		Started: time.Now().UTC(),
		Host:    result.Host{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU()},
		Settings: result.Settings{DurationS: c.opts.Duration.Seconds(), WarmupS: c.opts.Warmup.Seconds(),
			MaxOps: c.opts.MaxOps, Path: c.opts.Path, EchoSize: c.opts.EchoSize, BulkBytes: c.opts.BulkBytes},
	}
	if c.bootStart != "" {
		start, err := parseStart(c.bootStart, time.Now())
		if err != nil {
			return usageError{err.Error()}
		}
		t, err := waitBoot(ctx, c, start, stderr)
		if err != nil {
			return err
		}
		f.Tests = append(f.Tests, t)
	}
	if c.idlePID > 0 && c.idleTime > 0 && ctx.Err() == nil {
		f.Tests = append(f.Tests, load.IdleCPU(ctx, c.idlePID, c.idleWait, c.idleTime))
	}
	if c.idlePID > 0 {
		// Found after the boot: QEMU names its vCPU thread as it starts it.
		if c.opts.CPU, err = load.OpenQEMUCPU(c.idlePID); err != nil {
			fmt.Fprintln(stderr, "tamabench: no host CPU per unit of work:", err)
		}
	}
	addr := c.target
	// latency runs a latency test, traced with -trace.
	latency := func(run func(load.Options) result.Test) []result.Test {
		if !c.trace {
			return one(run(c.opts))
		}
		return one(load.Traced(ctx, "http://"+c.admin, c.idlePID, c.opts, run))
	}
	steps := []struct {
		name string
		run  func() []result.Test
	}{
		{"keepalive", func() []result.Test {
			return latency(func(o load.Options) result.Test { return load.HTTPLatency(ctx, addr.HTTP, true, o) })
		}},
		{"newconn", func() []result.Test {
			return latency(func(o load.Options) result.Test { return load.HTTPLatency(ctx, addr.HTTP, false, o) })
		}},
		{"tcpecho", func() []result.Test {
			return latency(func(o load.Options) result.Test { return load.TCPEcho(ctx, addr.TCPEcho, o) })
		}},
		{"udpecho", func() []result.Test {
			return latency(func(o load.Options) result.Test { return load.UDPEcho(ctx, addr.UDPEcho, o) })
		}},
		{"rps", func() []result.Test {
			var ts []result.Test
			for _, n := range c.levels {
				ts = append(ts, load.RPS(ctx, addr.HTTP, n, c.opts))
			}
			return ts
		}},
		{"download", func() []result.Test { return one(load.Download(ctx, addr.HTTP, c.opts)) }},
		{"upload", func() []result.Test { return one(load.Upload(ctx, addr.HTTP, c.opts)) }},
	}
	for _, s := range steps {
		if c.tests[s.name] && ctx.Err() == nil {
			f.Tests = append(f.Tests, s.run()...)
		}
	}
	if err := f.Validate(); err != nil {
		return err // a bug: two tests with one name
	}
	if err := emit(c, f, stdout, stderr); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; partial results written")
	}
	if c.strict {
		for _, t := range f.Tests {
			if t.Errors > 0 {
				return fmt.Errorf("%s: %d operations failed (first: %s)", t.Name, t.Errors, t.FirstError)
			}
		}
	}
	return nil
}

func one(t result.Test) []result.Test { return []result.Test{t} }

// waitBoot measures the boot: the time from start to the first 200, then
// the guest's boot phases on the same clock, if it reports them. In tap mode
// the tap's neighbour resolution is tuned meanwhile.
func waitBoot(ctx context.Context, c *runConfig, start time.Time, stderr io.Writer) (result.Test, error) {
	ctx, cancel := context.WithTimeout(ctx, c.bootWait)
	defer cancel()
	if c.tap && c.neighRetrans > 0 {
		host, _, _ := net.SplitHostPort(c.target.HTTP)
		restore, err := load.BootNeighbourProbing(host, c.neighRetrans)
		if err != nil {
			return result.Test{}, err
		}
		defer func() {
			if err := restore(); err != nil {
				fmt.Fprintln(stderr, "tamabench: restoring the neighbour retransmit time:", err)
			}
		}()
	}
	t, err := load.WaitFirst200(ctx, "http://"+c.target.HTTP+"/", start, c.bootProbe)
	if err != nil {
		return t, err
	}
	if c.admin == "" {
		return t, nil // no admin listener, no boot phases
	}
	if t.Phases, err = load.BootPhases(ctx, "http://"+c.admin, start); err != nil {
		fmt.Fprintln(stderr, "tamabench: no boot phases:", err)
	}
	return t, nil
}

// emit prints the table (or JSON) and writes the result file and plots.
func emit(c *runConfig, f *result.File, stdout, stderr io.Writer) error {
	if c.jsonOut {
		b, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			return err
		}
		stdout.Write(append(b, '\n'))
	} else if err := result.WriteTable(stdout, f); err != nil {
		return err
	}
	if c.out == "" {
		return nil
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	base := fmt.Sprintf("%s-r%d", f.Target.Name, f.Round)
	path := filepath.Join(c.out, base+".json")
	if err := result.Save(path, f); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "wrote", path)
	written, err := writePlots(c.out, base+"-", c.format, []*result.File{f})
	for _, p := range written {
		fmt.Fprintln(stderr, "wrote", p)
	}
	return err
}
