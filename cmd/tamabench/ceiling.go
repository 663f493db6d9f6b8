//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"tamanet/cmd/tamabench/internal/ceiling"
	"tamanet/cmd/tamabench/internal/compare"
	"tamanet/cmd/tamabench/internal/linkio"
	"tamanet/cmd/tamabench/internal/result"
	"tamanet/cmd/tamabench/internal/sinkframe"
	"tamanet/pktgen"
	"tamanet/vm"
)

// The tap's side of the measurement: its name in qemu.sh's namespace, its
// address, and the MAC qemu.sh gives it (-H) so the guest's frames can be
// addressed to it from boot (pktgen_dst=).
const (
	tapName = "tap0"
	tapIP   = "10.0.2.2"
	// tapMAC is locally administered (02:...) and spells "tama".
	tapMAC = "02:74:61:6d:61:02"
	// defaultMTUFrame is the largest frame at MTU 1500, what TSO segments
	// are on the wire.
	defaultMTUFrame = 1514
)

// ceilingModes are the measurements ceiling makes by default: the guest
// transmitting small and full frames and TSO super-frames, and receiving
// small and full frames.
const ceilingModes = "tx-60,tx-1514,tso,sink-60,sink-1514"

// ceilingRun is the parsed command line of "ceiling".
type ceilingRun struct {
	image, nic, machine, accel, firmware, out, share string
	seconds, writers, rounds                         int
	modes                                            []ceilingMode
	bootTimeout, markerWait                          time.Duration
	backoff                                          time.Duration
}

// ceilingMode is one boot of the guest: pktgen=mode with frames of size
// (tso: size 0, the guest's default super-frame).
type ceilingMode struct {
	name, mode string
	size       int
}

func parseCeilingModes(s string) ([]ceilingMode, error) {
	var ms []ceilingMode
	for _, name := range strings.Split(s, ",") {
		mode, size, _ := strings.Cut(name, "-")
		m := ceilingMode{name: name, mode: mode}
		switch mode {
		case "tx", "sink":
			n, err := strconv.Atoi(size)
			if err != nil || n < sinkframe.MinSize || n > sinkframe.MaxSize {
				return nil, usagef("ceiling: mode %q: want %s-SIZE, SIZE a frame length from %d", name, mode, sinkframe.MinSize)
			}
			m.size = n
		case "tso":
			if size != "" {
				return nil, usagef("ceiling: mode %q: tso takes no size (the guest's super-frame of 45 segments)", name)
			}
		default:
			return nil, usagef("ceiling: mode %q: want tx-SIZE, tso or sink-SIZE", name)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// ceilingCmd boots the unikernel once per mode as a packet generator or
// receive sink (boot option pktgen=) on a tap, and measures what its NIC
// moves with no stack above it, at the guest, its device registers and the
// tap.
func ceilingCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tamabench ceiling", flag.ContinueOnError)
	c := &ceilingRun{}
	fs.StringVar(&c.nic, "nic", "", "the guest's NIC, as qemu.sh -n takes it: e1000 (default) or virtio, then optional ,PROP=VALUE device properties")
	fs.StringVar(&c.machine, "M", "", "the guest's machine (qemu.sh -M): pc (default), q35 or microvm (which needs -nic virtio)")
	fs.StringVar(&c.accel, "a", "auto", "accelerator: tcg, kvm or auto, decided once for every boot")
	fs.StringVar(&c.firmware, "f", "qboot", "firmware (qemu.sh -f): qboot or seabios")
	modes := fs.String("modes", ceilingModes, "measurements, comma-separated: tx-SIZE (the guest sends SIZE-byte frames), tso (TSO super-frames) or sink-SIZE (the host sends the guest SIZE-byte frames)")
	fs.IntVar(&c.rounds, "r", 1, "rounds: every mode once a round, in turn")
	fs.IntVar(&c.seconds, "seconds", 5, "how long each mode sends (boot option pktgen_seconds=; the host's writing time for sink), 1-600")
	fs.IntVar(&c.writers, "writers", 1, "sink: AF_PACKET writers, each a goroutine with a socket of its own (more compete with QEMU for the host's CPUs)")
	fs.DurationVar(&c.backoff, "backoff", 100*time.Microsecond, "sink: a writer that finds the tap's queue full pauses this long (0: retries at once, spinning a CPU)")
	fs.StringVar(&c.out, "o", "", "output directory: ceiling.json, ceiling.txt, console logs (default bench/results/ceiling-<UTC time>)")
	fs.StringVar(&c.share, "share", "", "a ratio table (tamabench compare -json, e.g. a bench run's vs-linux/ratio.json): also print each download and upload as a share of its ceiling (share.txt, share.json)")
	fs.DurationVar(&c.bootTimeout, "boot-timeout", 5*time.Minute, "give up on a guest that has not printed PKTGEN ready after this long")
	fs.DurationVar(&c.markerWait, "marker-wait", 30*time.Second, "sink: give up on the guest's PKTGEN sink line after sending end markers this long")
	from := fs.String("from", "", "a saved ceiling.json to print instead of measuring (no IMAGE), with -share its shares of another run's transfers (written to -o if given)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *from != "" {
		if fs.NArg() != 0 {
			return usagef("ceiling: -from takes no IMAGE")
		}
		return c.reread(*from, stdout)
	}
	if fs.NArg() != 1 {
		return usagef("ceiling: want [flags] IMAGE, or -from CEILING.json")
	}
	c.image = fs.Arg(0)
	if err := c.plan(modes, stderr); err != nil {
		return err
	}
	f := &ceiling.File{Schema: ceiling.Schema, Started: time.Now().UTC(), NIC: c.nicName(),
		Note: fmt.Sprintf("qemu %s, %s, machine %s, net tap", c.accel, c.firmware, c.machineName()), Seconds: float64(c.seconds)}
	for round := 1; round <= c.rounds; round++ {
		for _, m := range c.modes {
			fmt.Fprintf(stderr, "ceiling: round %d/%d: %s on %s\n", round, c.rounds, m.name, f.NIC)
			row, err := c.measure(ctx, m, round)
			if err != nil {
				return fmt.Errorf("ceiling %s round %d: %w", m.name, round, err)
			}
			f.Rows = append(f.Rows, row)
		}
	}
	if err := ceiling.Save(filepath.Join(c.out, "ceiling.json"), f); err != nil {
		return err
	}
	if err := writeBoth(filepath.Join(c.out, "ceiling.txt"), stdout, func(w io.Writer) error { return ceiling.WriteTable(w, f) }); err != nil {
		return err
	}
	if c.share != "" {
		if err := c.writeShares(f, stdout); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "ceiling: results in %s\n", c.out)
	return nil
}

// reread prints a saved ceiling, and its shares with -share.
func (c *ceilingRun) reread(path string, stdout io.Writer) error {
	f, err := ceiling.Load(path)
	if err != nil {
		return err
	}
	if err := ceiling.WriteTable(stdout, f); err != nil {
		return err
	}
	if c.share == "" {
		return nil
	}
	if c.out != "" {
		if err := os.MkdirAll(c.out, 0o755); err != nil {
			return err
		}
	}
	return c.writeShares(f, stdout)
}

// plan checks the flags and decides the accelerator and output directory.
func (c *ceilingRun) plan(modes *string, stderr io.Writer) error {
	var err error
	if c.modes, err = parseCeilingModes(*modes); err != nil {
		return err
	}
	if c.seconds < 1 || c.seconds > 600 || c.writers < 1 || c.backoff < 0 || c.rounds < 1 {
		return usagef("ceiling: want -seconds from 1 to 600, -r >= 1, -writers >= 1, -backoff >= 0")
	}
	if _, err := os.Stat(c.image); err != nil {
		return usagef("ceiling: no unikernel image at %s", c.image)
	}
	if _, err := resolveNet("tap"); err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return errors.New("ceiling: nft is not installed: run make tools (or scripts/ensure-tool.sh nft nftables)")
	}
	if c.accel, err = resolveAccel(c.accel, c.image, c.machine); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ceiling: accelerator %s\n", c.accel)
	if c.out == "" {
		if c.out, err = resultsDir("ceiling-" + utcStamp()); err != nil {
			return err
		}
	}
	return os.MkdirAll(c.out, 0o755)
}

func (c *ceilingRun) nicName() string {
	if c.nic == "" {
		return "e1000"
	}
	return c.nic
}

func (c *ceilingRun) machineName() string {
	if c.machine == "" {
		return "pc"
	}
	return c.machine
}

// bootOpts are the guest's boot options for m.
func (c *ceilingRun) bootOpts(m ceilingMode) string {
	opts := []string{"pktgen=" + m.mode}
	if m.mode != "sink" {
		opts = append(opts, "pktgen_seconds="+strconv.Itoa(c.seconds), "pktgen_dst="+tapMAC)
	}
	if m.mode == "tx" {
		opts = append(opts, "pktgen_size="+strconv.Itoa(m.size))
	}
	return strings.Join(opts, " ")
}

// measure boots the guest for m, measures and stops it.
func (c *ceilingRun) measure(ctx context.Context, m ceilingMode, round int) (ceiling.Row, error) {
	log, err := consoleLog(filepath.Join(c.out, fmt.Sprintf("console-%s-r%d.log", m.name, round)))
	if err != nil {
		return ceiling.Row{}, err
	}
	defer log.Close()
	cfg := vm.Config{Image: c.image, Accel: c.accel, Firmware: c.firmware, NIC: c.nic, Machine: c.machine,
		Network: vm.Tap, TapMAC: tapMAC, Cmdline: c.bootOpts(m)}
	g, err := vm.Start(cfg, log)
	if err != nil {
		return ceiling.Row{}, err
	}
	defer g.Stop()
	boot, cancel := context.WithTimeout(ctx, c.bootTimeout)
	defer cancel()
	if err := g.Ready(boot); err != nil {
		return ceiling.Row{}, fmt.Errorf("no tap: %w; console:\n%s", err, g.Console.Text())
	}
	if err := dropIPAtTap(g); err != nil {
		return ceiling.Row{}, err
	}
	link, err := vm.NewNetnsDialer(g.Netns).OpenLink(tapName)
	if err != nil {
		return ceiling.Row{}, err
	}
	defer link.Close()
	line, _, err := g.Console.Await(boot, pktgen.Tag+pktgen.EventReady, 0)
	if err != nil {
		return ceiling.Row{}, fmt.Errorf("%w; console:\n%s", err, g.Console.Text())
	}
	ready, err := pktgen.ParseReady(line.Text)
	if err != nil {
		return ceiling.Row{}, err
	}
	if ready.Mode.String() != m.mode {
		return ceiling.Row{}, fmt.Errorf("the guest is in mode %s, not %s: %q", ready.Mode, m.mode, line.Text)
	}
	row := ceiling.Row{Name: m.name, Round: round, Mode: m.mode, Size: m.size, WireSize: m.size}
	if m.mode == "sink" {
		row.Direction = ceiling.GuestRx
		err = c.sink(ctx, g, link, ready, &row)
	} else {
		row.Direction = ceiling.GuestTx
		err = c.transmit(ctx, g, link, &row)
	}
	if err != nil {
		return ceiling.Row{}, fmt.Errorf("%w; console:\n%s", err, g.Console.Text())
	}
	return row, nil
}

// dropIPAtTap has the namespace's firewall drop every IP packet the guest
// sends before the host's stack sees it: the tap still counts them, and
// the host neither answers the TSO frames' TCP with resets nor the UDP
// frames with port unreachables.
func dropIPAtTap(g *vm.Guest) error {
	rules := fmt.Sprintf(`table netdev tamabench_ceiling {
	chain ingress {
		type filter hook ingress device %s priority 0; policy accept;
		meta protocol { ip, ip6 } drop
	}
}
`, tapName)
	cmd := g.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in namespace %s: %v: %s", g.Netns, err, out)
	}
	return nil
}

// transmit measures a tx or tso run: the guest's done line, and the tap's
// rx counters between its start and done lines.
func (c *ceilingRun) transmit(ctx context.Context, g *vm.Guest, link *vm.Link, row *ceiling.Row) error {
	wait, cancel := context.WithTimeout(ctx, c.bootTimeout)
	defer cancel()
	line, i, err := g.Console.Await(wait, pktgen.Tag+pktgen.EventStart, 0)
	if err != nil {
		return err
	}
	before, err := link.Stats()
	if err != nil {
		return err
	}
	t0 := time.Now()
	start, err := pktgen.ParseStart(line.Text)
	if err != nil {
		return err
	}
	// The guest sends for -seconds; a generous bound on top for a loaded
	// machine.
	wait, cancel = context.WithTimeout(ctx, time.Duration(c.seconds)*time.Second+2*time.Minute)
	defer cancel()
	line, _, err = g.Console.Await(wait, pktgen.Tag+pktgen.EventDone, i)
	if err != nil {
		return err
	}
	t1 := time.Now()
	after, err := settledStats(ctx, link)
	if err != nil {
		return err
	}
	done, err := pktgen.ParseDone(line.Text)
	if err != nil {
		return err
	}
	if row.Mode == "tso" {
		row.Size, row.WireSize = start.Size, defaultMTUFrame
	}
	d := after.Sub(before)
	row.Guest = ceiling.Count{Frames: done.WireFrames, Bytes: done.WireBytes, Seconds: done.Seconds}
	if done.DevFrames >= 0 {
		row.Device = &ceiling.Count{Frames: done.DevFrames, Bytes: done.DevBytes, Seconds: done.Seconds}
	}
	row.Host = ceiling.Count{Frames: int64(d.RxPackets), Bytes: int64(d.RxBytes), Seconds: t1.Sub(t0).Seconds()}
	row.GuestDrops = done.Drops
	return nil
}

// settledStats reads the link's counters until two reads a little apart
// agree (frames the guest queued before its done line still on their way
// through QEMU), within a bound.
func settledStats(ctx context.Context, link *vm.Link) (vm.LinkStats, error) {
	s, err := link.Stats()
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return s, context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
		var next vm.LinkStats
		if next, err = link.Stats(); err == nil && next == s {
			break
		}
		s = next
	}
	return s, err
}

// sink waits until the guest receives, writes frames to it for -seconds,
// then sends end markers until the guest's sink line for the interval
// appears.
func (c *ceilingRun) sink(ctx context.Context, g *vm.Guest, link *vm.Link, ready pktgen.Ready, row *ceiling.Row) error {
	host := sinkframe.Endpoint{MAC: link.MAC, IP: netip.MustParseAddr(tapIP)}
	guest := sinkframe.Endpoint{MAC: ready.MAC[:], IP: netip.MustParseAddr(vm.GuestIP)}
	frame, err := sinkframe.UDP(host, guest, row.Size)
	if err != nil {
		return err
	}
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = frame
	}
	batch := linkio.NewBatch(frames)
	marker := linkio.NewBatch([][]byte{sinkframe.EndMarker(link.MAC, ready.MAC[:])})
	writers := make([]*linkio.Writer, c.writers)
	defer func() {
		for _, w := range writers {
			if w != nil {
				w.Close()
			}
		}
	}()
	for i := range writers {
		fd, err := vm.NewNetnsDialer(g.Netns).PacketSocket(tapName)
		if err != nil {
			return err
		}
		if writers[i], err = linkio.NewWriter(fd); err != nil {
			return err
		}
	}

	if _, err := c.awaitReceiving(ctx, g, writers[0], marker); err != nil {
		return err
	}
	mark := g.Console.Mark()
	before, err := link.Stats()
	if err != nil {
		return err
	}
	wrote, elapsed, err := c.write(ctx, writers, batch)
	if err != nil {
		return err
	}
	line, _, markers, err := c.markUntilLine(ctx, g, writers[0], marker, mark)
	if err != nil {
		return err
	}
	after, err := link.Stats()
	if err != nil {
		return err
	}
	s, err := pktgen.ParseSink(line)
	if err != nil {
		return err
	}
	d := after.Sub(before)
	row.Guest = ceiling.Count{Frames: s.Frames, Bytes: s.Bytes, Seconds: s.Seconds}
	if s.DevFrames >= 0 {
		row.Device = &ceiling.Count{Frames: s.DevFrames, Bytes: s.DevBytes, Seconds: s.Seconds}
		row.DevMissed = s.DevMissed
	}
	row.Host = ceiling.Count{Frames: wrote, Bytes: wrote * int64(row.Size), Seconds: elapsed.Seconds()}
	row.GuestDrops = s.Errors
	row.TapRead = int64(d.TxPackets) - int64(markers)
	row.TapDropped = int64(d.TxDropped)
	return nil
}

// write runs the writers for -seconds and returns how many frames the tap
// took from them.
func (c *ceilingRun) write(ctx context.Context, writers []*linkio.Writer, batch *linkio.Batch) (int64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.seconds)*time.Second)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		first error
	)
	t0 := time.Now()
	for _, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := writeUntil(ctx, w, batch, c.backoff)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	return total, time.Since(t0), first
}

// writeUntil sends batch over and over until ctx ends, pausing backoff
// whenever the tap's queue is full.
func writeUntil(ctx context.Context, w *linkio.Writer, batch *linkio.Batch, backoff time.Duration) (int64, error) {
	var sent int64
	for from := 0; ctx.Err() == nil; {
		n, err := w.Send(batch, from)
		sent += int64(n)
		switch {
		case errors.Is(err, linkio.ErrFull):
			if backoff > 0 {
				time.Sleep(backoff)
			}
		case err != nil:
			return sent, err
		}
		if from += n; from == batch.Len() {
			from = 0
		}
	}
	return sent, nil
}

// markUntilLine sends an end marker every 100 ms until a PKTGEN sink line
// printed at index from or later appears (within -marker-wait) and returns
// it, its index and how many markers the tap took.
func (c *ceilingRun) markUntilLine(ctx context.Context, g *vm.Guest, w *linkio.Writer, marker *linkio.Batch, from int) (string, int, int, error) {
	deadline := time.Now().Add(c.markerWait)
	sent := 0
	for {
		if _, err := w.Send(marker, 0); err == nil {
			sent++
		} else if !errors.Is(err, linkio.ErrFull) {
			return "", 0, sent, err
		}
		tick, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		line, i, err := g.Console.Await(tick, pktgen.Tag+pktgen.EventSink, from)
		cancel()
		switch {
		case err == nil:
			return line.Text, i, sent, nil
		case ctx.Err() != nil || errors.Is(err, vm.ErrEnded):
			return "", 0, sent, err
		case time.Now().After(deadline):
			return "", 0, sent, fmt.Errorf("no PKTGEN sink line after %d end markers in %v", sent, c.markerWait)
		}
	}
}

// awaitReceiving returns once the sink receives and has answered every
// marker sent meanwhile, so that none of their lines comes after the
// measurement starts. The ready line can come well before the device
// receives: QEMU's e1000 holds reception for about a second after the
// driver enables it (its link autonegotiation), queueing the host's frames
// in the tap and then dropping them.
func (c *ceilingRun) awaitReceiving(ctx context.Context, g *vm.Guest, w *linkio.Writer, marker *linkio.Batch) (int, error) {
	_, i, sent, err := c.markUntilLine(ctx, g, w, marker, g.Console.Mark())
	if err != nil {
		return 0, fmt.Errorf("the sink never received: %w", err)
	}
	wait, cancel := context.WithTimeout(ctx, c.markerWait)
	defer cancel()
	for answered := 1; answered < sent; answered++ {
		if _, i, err = g.Console.Await(wait, pktgen.Tag+pktgen.EventSink, i+1); err != nil {
			return 0, fmt.Errorf("%d of %d markers answered: %w", answered, sent, err)
		}
	}
	return sent, nil
}

// writeShares prints the share of each transfer of the -share ratio table
// and saves them in -o, if any.
func (c *ceilingRun) writeShares(f *ceiling.File, stdout io.Writer) error {
	var tab compare.Table
	if err := result.ReadJSON(c.share, &tab); err != nil {
		return err
	}
	shares, err := ceiling.Shares(&tab, f)
	if err != nil {
		return fmt.Errorf("%s: %w", c.share, err)
	}
	fmt.Fprintln(stdout)
	if c.out == "" {
		return ceiling.WriteShares(stdout, shares)
	}
	if err := result.WriteJSON(filepath.Join(c.out, "share.json"), shares); err != nil {
		return err
	}
	return writeBoth(filepath.Join(c.out, "share.txt"), stdout, func(w io.Writer) error { return ceiling.WriteShares(w, shares) })
}

// writeBoth runs write on stdout and on a new file at path.
func writeBoth(path string, stdout io.Writer, write func(io.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(io.MultiWriter(stdout, file)); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
