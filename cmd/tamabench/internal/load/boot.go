package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tamanet/cmd/tamabench/internal/result"
)

// BootProbe says how WaitFirst200 polls a booting guest. The boot figure
// must not include the client's own timers: a SYN the guest never saw is
// retransmitted after 1 s (then 3 s), and neighbour resolution waits as
// long. So an attempt gives up connecting after Connect and a fresh one
// starts every Interval, whichever is in flight when the guest first
// answers wins. Once an attempt is connected (at once through QEMU's user
// networking, whose slirp accepts for the guest), no new one starts until
// it ends: every attempt leaves a SYN queued in front of the guest, which
// answers them in order.
type BootProbe struct {
	// Interval is the time between attempts (default 10 ms).
	Interval time.Duration
	// Connect bounds an attempt's TCP connect (default 100 ms).
	Connect time.Duration
	// Answer bounds the rest of an attempt once connected: request and
	// response (default 1 s).
	Answer time.Duration
}

// maxInFlight bounds the attempts running at once; with the defaults about
// Connect/Interval attempts wait to connect at any time.
const maxInFlight = 256

func (p BootProbe) withDefaults() BootProbe {
	if p.Interval <= 0 {
		p.Interval = 10 * time.Millisecond
	}
	if p.Connect <= 0 {
		p.Connect = 100 * time.Millisecond
	}
	if p.Answer <= 0 {
		p.Answer = time.Second
	}
	return p
}

// WaitFirst200 polls GET url until it answers 200 and reports the time from
// start (e.g. the instant QEMU was launched) to that answer. Failed attempts
// (refused, reset, timed out, not 200: the guest is still booting) are
// counted in Errors. It gives up when ctx ends.
func WaitFirst200(ctx context.Context, url string, start time.Time, p BootProbe) (result.Test, error) {
	p = p.withDefaults()
	t := result.Test{Name: TestBoot, Kind: result.KindBoot}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()             // abandons attempts still in flight after the first 200
	var connected atomic.Int32 // attempts past their connect, not ended
	c := &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{Timeout: p.Connect}).DialContext,
		},
	}
	type answer struct {
		at  time.Time
		err error
	}
	answers := make(chan answer, maxInFlight)
	attempt := func() {
		// The connect's own timeout is the dialer's; this one bounds
		// the attempt.
		ctx, cancel := context.WithTimeout(ctx, p.Connect+p.Answer)
		defer cancel()
		// The transport may report a connect after the attempt gave up
		// on it: only one made while the attempt runs counts.
		var mu sync.Mutex
		ended, counted := false, false
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			ConnectDone: func(_, _ string, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err == nil && !ended && !counted {
					counted = true
					connected.Add(1)
				}
			},
		})
		defer func() {
			mu.Lock()
			defer mu.Unlock()
			ended = true
			if counted {
				connected.Add(-1)
			}
		}()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err == nil {
			var resp *http.Response
			if resp, err = c.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("GET %s: %s", url, resp.Status)
				}
			}
		}
		answers <- answer{time.Now(), err}
	}
	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	inFlight := 0
	spawn := func() {
		if inFlight < maxInFlight && connected.Load() == 0 {
			inFlight++
			go attempt()
		}
	}
	spawn()
	var last error
	for {
		select {
		case a := <-answers:
			inFlight--
			if a.err == nil {
				el := a.at.Sub(start)
				t.Count, t.ElapsedMS, t.DurationS = 1, float64(el)/1e6, el.Seconds()
				return t, nil
			}
			if ctx.Err() == nil {
				last = a.err
				t.Errors++
				if t.FirstError == "" {
					t.FirstError = a.err.Error()
				}
			}
		case <-tick.C:
			spawn()
		case <-ctx.Done():
			return t, fmt.Errorf("no 200 from %s after %v (%d failed attempts, last: %v)",
				url, time.Since(start).Round(time.Millisecond), t.Errors, last)
		}
	}
}

// clockSamples is how many times GuestClock asks; the fastest answer
// places the guest's clock.
const clockSamples = 5

// ClockSample pairs an instant on the host's clock with the guest's uptime
// (time since its VM started) at that instant.
type ClockSample struct {
	Host  time.Time
	Guest time.Duration
	// RTT is the round trip of the request it came from: the pairing is
	// good to half of it.
	RTT time.Duration
}

// VMStart is the host instant the guest's clock started from.
func (c ClockSample) VMStart() time.Time { return c.Host.Add(-c.Guest) }

// GuestClock reads the guest's uptime from GET base/debug/boot (the
// unikernel reads it last thing before answering) several times and pairs
// the one with the shortest round trip with that trip's midpoint. It also
// returns that answer's boot phases (seconds since the VM started, by
// name); ok is false for a guest that has no such page (the Linux
// baseline).
func GuestClock(ctx context.Context, base string) (c ClockSample, phases map[string]float64, ok bool, err error) {
	hc := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	for i := 0; i < clockSamples; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/boot", nil)
		if err != nil {
			return c, nil, false, err
		}
		sent := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return c, nil, false, err
		}
		got := time.Now()
		var b map[string]float64
		err = json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return c, nil, false, nil
		case resp.StatusCode != http.StatusOK:
			return c, nil, false, fmt.Errorf("GET %s/debug/boot: %s", base, resp.Status)
		case err != nil:
			return c, nil, false, fmt.Errorf("GET %s/debug/boot: %w", base, err)
		}
		up, found := b["uptime_seconds"]
		if !found {
			return c, nil, false, fmt.Errorf("GET %s/debug/boot: no uptime_seconds", base)
		}
		if rtt := got.Sub(sent); phases == nil || rtt < c.RTT {
			c = ClockSample{Host: sent.Add(rtt / 2), Guest: seconds(up), RTT: rtt}
			phases = b
		}
	}
	return c, phases, true, nil
}

// BootPhases reads the guest's boot phases (GuestClock) and places them on
// the host's clock, in ms since start. The VM's start itself is the phase
// "vm_start" (QEMU's own start-up before it). A guest that has no phases
// (the Linux baseline) gives none and no error.
func BootPhases(ctx context.Context, base string, start time.Time) ([]result.Phase, error) {
	c, boot, ok, err := GuestClock(ctx, base)
	if err != nil || !ok {
		return nil, err
	}
	vmStart := c.VMStart()
	at := func(d time.Duration) float64 { return float64(vmStart.Add(d).Sub(start)) / 1e6 }
	phases := []result.Phase{{Name: "vm_start", MS: at(0)}}
	for k, sec := range boot {
		name, ok := strings.CutSuffix(k, "_seconds")
		if !ok || k == "uptime_seconds" || sec == 0 {
			continue
		}
		phases = append(phases, result.Phase{Name: name, MS: at(seconds(sec))})
	}
	sort.SliceStable(phases, func(i, j int) bool { return phases[i].MS < phases[j].MS })
	return phases, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * 1e9) }

// Neighbour resolution settings of the tap while a boot is polled.
// QEMU's e1000 queues every frame until it receives again (a second after
// its last RCTL write), so what the host sends meanwhile reaches the guest
// at once when it does: one ARP request per retransmission interval, and
// every connection attempt's SYN that the kernel kept for the unresolved
// neighbour. A short interval re-asks soon when a guest drops an ARP
// request rather than queueing it; a long one keeps the burst small. 100 ms
// bounds both. Only the newest SYNs matter: the neighbour's queue keeps
// about three (the kernel drops the oldest).
const (
	BootNeighbourRetrans = 100 * time.Millisecond
	bootNeighbourQueue   = 4096 // bytes: a few SYNs' socket buffers
)

// BootNeighbourProbing sets the ARP retransmission time of the tap
// interface whose subnet holds host to retrans, and its queue of packets
// awaiting resolution to a few, and returns a function that restores both.
// It only touches a TUN/TAP interface (qemu.sh's tap mode, inside the
// namespace it made).
func BootNeighbourProbing(host string, retrans time.Duration) (restore func() error, err error) {
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, fmt.Errorf("neighbour probing: %q is not an IP address", host)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, ifc := range ifs {
		if !isTap(ifc.Name) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.Contains(ip) {
				dir := filepath.Join("/proc/sys/net/ipv4/neigh", ifc.Name)
				return setSysctls(map[string]string{
					filepath.Join(dir, "retrans_time_ms"):  strconv.FormatInt(retrans.Milliseconds(), 10),
					filepath.Join(dir, "unres_qlen_bytes"): strconv.Itoa(bootNeighbourQueue),
				})
			}
		}
	}
	return nil, fmt.Errorf("neighbour probing: no tap interface here has %s on its subnet", host)
}

// setSysctls writes each value to its sysctl file and returns a function
// that writes the old values back. On an error the files already written
// are restored.
func setSysctls(vals map[string]string) (func() error, error) {
	old := map[string][]byte{}
	restore := func() error {
		var errs []error
		for path, v := range old {
			if err := os.WriteFile(path, v, 0o644); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	for path, v := range vals {
		b, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(path, []byte(v), 0o644)
		}
		if err != nil {
			restore()
			return nil, err
		}
		old[path] = b
	}
	return restore, nil
}
