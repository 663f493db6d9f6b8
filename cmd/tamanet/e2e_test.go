//go:build !tamago

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"tamanet/cmd/internal/service"
	"tamanet/e1000"
	"tamanet/napi"
	"tamanet/netif"
	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// Sizes of the transfers the issue asks for. They are not shrunk for TCG:
// the test reports what they cost instead.
const (
	keepAliveRequests = 2000
	downloadBytes     = 100 << 20
	uploadBytes       = 50 << 20
	// modeBytes is the download each non-default NAPI mode is checked
	// with: enough for thousands of packets.
	modeBytes = 8 << 20
	// flapBytes is the download kept open across the link flap.
	flapBytes = 8 << 20
)

// TestE2E boots the unikernel in each NAPI mode and talks to it from the
// host over QEMU user networking (127.0.0.1 port forwards only). The default
// mode gets the whole list of issue 4; NAPI and interrupt mode are compared
// with the interrupt moderation off; busy polling is checked for taking no
// interrupts.
func TestE2E(t *testing.T) {
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	var withOffload delta // the default download, offloads on
	t.Run("napi", func(t *testing.T) {
		g := bootGuest(t, image, withAdmin(""))
		if s := g.stats(t); s.System.NAPIMode != "napi" || s.System.NAPIBudget != 64 {
			t.Fatalf("default mode %q budget %d, want napi 64", s.System.NAPIMode, s.System.NAPIBudget)
		}
		t.Run("root", g.testRoot)
		t.Run("boot", g.testBoot)
		t.Run("keepalive", g.testKeepAlive)
		t.Run("download", func(t *testing.T) { withOffload = g.testDownload(t, downloadBytes, true) })
		t.Run("upload", func(t *testing.T) { g.testUpload(t, uploadBytes, true) })
		t.Run("echo", g.testEcho)
		t.Run("metrics", g.testMetrics)
		t.Run("debugsurface", g.testDebugSurface)
		t.Run("pprof", g.testProfile)
		t.Run("pcap", g.testPcap)
		t.Run("badrequest", g.testBadRequest)
		t.Run("linkflap", g.testLinkFlap)
	})
	t.Run("faults", func(t *testing.T) {
		g := bootGuest(t, image, "testroutes=on")
		t.Run("nilderef", g.testNilDeref)
		t.Run("spin", g.testSpin)
	})
	// NAPI against interrupt-driven service (one interrupt, drain,
	// re-arm), both with the NIC's interrupt moderation off (ITR, RDTR,
	// TIDV and TADV zero), so an interrupt saving is the poll engine's and
	// not the hardware throttle's.
	t.Run("nomitigation", func(t *testing.T) {
		perPacket := map[string]float64{}
		for _, mode := range []string{"interrupt", "napi"} {
			t.Run(mode, func(t *testing.T) {
				g := bootGuest(t, image, "napi="+mode+" mitigation=off")
				if s := g.stats(t).System; s.NAPIMode != mode || s.Mitigation {
					t.Fatalf("mode %q mitigation %v, want %s off", s.NAPIMode, s.Mitigation, mode)
				}
				d := g.testUpload(t, modeBytes, false)
				perPacket[mode] = float64(d.irqs) / float64(max(d.packets, 1))
				// Interrupt mode re-arms after every round: it never
				// stays in polling because a round used its budget.
				if mode == "interrupt" && d.exhaustions != 0 {
					t.Errorf("%d budget exhaustions in interrupt mode, want 0", d.exhaustions)
				}
			})
		}
		// Reported, not asserted: which mode takes fewer depends on how
		// often a round fills its budget, that is on the host's load
		// (measured under TCG: napi 0.003 and interrupt 0.009 at load 20,
		// 0.010 and 0.009 at load 8).
		t.Logf("interrupts per packet without moderation, %d MiB echoed: napi %.3f, interrupt %.3f",
			modeBytes>>20, perPacket["napi"], perPacket["interrupt"])
	})
	t.Run("offload-off", func(t *testing.T) {
		g := bootGuest(t, image, "offload=off")
		g.testRoot(t)
		d := g.testDownload(t, modeBytes, false)
		g.testUpload(t, modeBytes, false)
		n := g.stats(t).System
		if n.Offload {
			t.Error("/stats says offload on")
		}
		if n.Netif.TxTSO+n.Netif.TxCsumOffload != 0 || n.E1000 != nil && n.E1000.TX.Contexts != 0 || n.Netif.RxGROIn != n.Netif.RxGROOut {
			t.Errorf("offloads used with offload=off: netif %+v", n.Netif)
		}
		// Reported, not asserted: over user networking the doorbells
		// follow the ACKs slirp sends back (one transmit batch per poll),
		// whatever the packets' size; make bench measures them over tap.
		on, off := withOffload.doorbellsPerMB(), d.doorbellsPerMB()
		t.Logf("download, offload on vs off: %.2f vs %.2f doorbells/MB, %.2f vs %.2f IRQs/MB",
			on, off, withOffload.irqsPerMB(), d.irqsPerMB())
		// Over slirp most packets are two segments (ACK clocked); over tap
		// most are 64 KiB.
		if withOffload.txBytes == 0 || withOffload.txSegments <= withOffload.txFrames {
			t.Errorf("the default download sent %d frames as %d segments: TSO not in use", withOffload.txFrames, withOffload.txSegments)
		}
	})
	// Jumbo frames: the guest takes them (RCTL.LPE, 16 KiB buffers) and
	// says so; slirp's side stays at 1500, so traffic here is standard
	// frames, and make bench runs the tap at MTU 9000.
	t.Run("mtu9000", func(t *testing.T) {
		g := bootGuest(t, image, "mtu=9000")
		g.testRoot(t)
		g.testDownload(t, modeBytes, false)
		if s := g.stats(t).System; s.MTU != 9000 {
			t.Errorf("/stats MTU %d, want 9000", s.MTU)
		}
	})
	t.Run("busypoll", func(t *testing.T) {
		// Addressed by slirp's DHCP server, the exchange served by the
		// poll loop: one boot for both.
		g := bootGuest(t, image, "napi=busypoll ip=dhcp")
		t.Run("dhcp", g.testDHCPUser)
		g.testRoot(t)
		d := g.testDownload(t, modeBytes, false)
		if s := g.stats(t).System; s.NAPIMode != "busypoll" {
			t.Errorf("mode %q, want busypoll", s.NAPIMode)
		}
		// The poll loop owns the rings: receive and transmit causes are
		// never armed (link changes only), so the transfer raises no
		// interrupt at all.
		if d.irqs != 0 {
			t.Errorf("%d interrupts during a busy-poll transfer, want 0", d.irqs)
		}
	})
}

// TestEntropyPolicy boots the unikernel on a CPU without RDRAND (QEMU's
// qemu64 model): it must refuse to run on nothing better than the board's
// RDRAND emulation, saying how to fix that; draw its random numbers from a
// virtio-rng device when there is one; and run on the emulation only when
// told to (rng=insecure), with a warning.
func TestEntropyPolicy(t *testing.T) {
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	noRDRAND := []string{"-cpu", "qemu64,+pdpe1gb"}
	t.Run("refused", func(t *testing.T) {
		r := vmtest.Run(t, vm.Config{Image: image, QEMUArgs: noRDRAND}, readyTimeout)
		for _, want := range []string{"tamanet: no entropy source", "+rdrand", "-device virtio-rng-pci", "rng=insecure"} {
			if !strings.Contains(r.Output, want) {
				t.Errorf("console lacks %q", want)
			}
		}
		if want := 1<<1 | 1; r.ExitCode != want || strings.Contains(r.Output, "READY") {
			t.Errorf("QEMU exit status %d, want %d, without READY; console:\n%s", r.ExitCode, want, r.Output)
		}
	})
	t.Run("virtio-rng", func(t *testing.T) {
		g := bootGuest(t, image, "", append(noRDRAND, "-device", "virtio-rng-pci")...)
		g.testRoot(t)
		t.Run("nodebug", g.testNoDebug) // the default boot options
		e := g.stats(t).System.Entropy
		if e.Source != "virtio-rng" || e.VirtioRNG == nil || e.VirtioRNG.Bytes < 32 {
			t.Errorf("entropy %+v, want source virtio-rng and at least a 32-byte seed from it", e)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		g := bootGuest(t, image, "rng=insecure", noRDRAND...)
		g.testRoot(t)
		if e := g.stats(t).System.Entropy; e.Source != "rdrand-emulated" {
			t.Errorf("entropy source %q, want rdrand-emulated", e.Source)
		}
		vmtest.Await(t, g.vm, "tamanet: WARNING: rng=insecure", 0, time.Second)
	})
}

// TestBadBootOption boots with a mistyped option: the image must say what
// is wrong and leave QEMU with a failure status instead of running the
// default.
func TestBadBootOption(t *testing.T) {
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	for _, c := range []struct{ option, message string }{
		{"napi=fast", `tamanet: boot option napi=fast: unknown mode "fast"`},
		{"mtu=16275", "tamanet: boot option mtu=16275: beyond the 82540EM's largest MTU, 16274"},
		{"mtu=67", "tamanet: boot option mtu=67: below IPv4's minimum MTU, 68"},
	} {
		r := vmtest.Run(t, vm.Config{Image: image, Cmdline: c.option}, readyTimeout)
		t.Logf("%s: accelerator %s, %v", c.option, r.Accel, r.Elapsed.Round(time.Millisecond))
		if !strings.Contains(r.Output, c.message) {
			t.Errorf("%s: no error naming the option; console:\n%s", c.option, r.Output)
		}
		if want := 1<<1 | 1; r.ExitCode != want {
			t.Errorf("%s: QEMU exit status %d, want %d", c.option, r.ExitCode, want)
		}
	}
}

// statsDoc is the part of GET /stats the test reads, under the snake_case
// keys tamanet/expose gives every layer's fields.
type statsDoc struct {
	Name    string `json:"name"`
	Service struct {
		HTTPRouteRequests map[string]uint64 `json:"http_route_requests"`
		HTTPConnections   uint64            `json:"http_connections"`
		BytesBadRequests  uint64            `json:"bytes_bad_requests"`
		TCPEchoBytes      uint64            `json:"tcp_echo_bytes"`
		UDPEchoPackets    uint64            `json:"udp_echo_packets"`
		HTTPPanics        uint64            `json:"http_panics"`
	} `json:"service"`
	System struct {
		Addresses  []string   `json:"addresses"`
		DNS        string     `json:"dns"`
		DHCP       *dhcpStats `json:"dhcp"`
		NAPIMode   string     `json:"napi_mode"`
		NAPIBudget int        `json:"napi_budget"`
		Mitigation bool       `json:"mitigation"`
		Offload    bool       `json:"offload"`
		MTU        int        `json:"mtu"`
		IRQ        struct {
			Lines []struct {
				GSI      uint32            `json:"gsi"`
				Count    uint64            `json:"count"`
				Handlers map[string]uint64 `json:"handlers"`
			} `json:"lines"`
		} `json:"irq"`
		// Boot is each boot phase's time since reset, in seconds.
		Boot map[string]float64 `json:"boot"`
		Tick struct {
			Ticks           uint64 `json:"ticks"`
			ProfileSamples  uint64 `json:"profile_samples"`
			PreemptRequests uint64 `json:"preempt_requests"`
			AsyncPreempts   uint64 `json:"async_preempts"`
		} `json:"tick"`
		Entropy struct {
			Source    string `json:"source"`
			VirtioRNG *struct {
				Bytes uint64 `json:"bytes"`
			} `json:"virtio_rng"`
		} `json:"entropy"`
		NIC string `json:"nic"`
		// NICTotals are the counters every NIC driver keeps.
		NICTotals struct {
			LinkUp         bool   `json:"link_up"`
			LinkChanges    uint64 `json:"link_changes"`
			LinkInterrupts uint64 `json:"link_interrupts"`
			RxPackets      uint64 `json:"rx_packets"`
			RxBytes        uint64 `json:"rx_bytes"`
			TxPackets      uint64 `json:"tx_packets"`
			TxBytes        uint64 `json:"tx_bytes"`
			TxSegments     uint64 `json:"tx_segments"`
			TxDoorbells    uint64 `json:"tx_doorbells"`
			Interrupts     uint64 `json:"interrupts"`
			NAPI           struct {
				IRQs              uint64 `json:"irqs"`
				Polls             uint64 `json:"polls"`
				BudgetExhaustions uint64 `json:"budget_exhaustions"`
				Completions       uint64 `json:"completions"`
				MissedRepolls     uint64 `json:"missed_repolls"`
				PollSizes         struct {
					Buckets []struct {
						Count uint64 `json:"count"`
					} `json:"buckets"`
				} `json:"poll_sizes"`
			} `json:"napi"`
		} `json:"nic_totals"`
		// E1000 is the e1000 driver's own member (nil on another NIC).
		E1000 *struct {
			TX struct {
				Contexts uint64 `json:"contexts"`
			} `json:"tx"`
			Device struct {
				RCTLWrites uint64 `json:"rctl_writes"`
			} `json:"device"`
		} `json:"e1000"`
		Netif netif.Counters `json:"netif"`
		Admin *struct {
			Accepted uint64 `json:"accepted"`
			Refused  uint64 `json:"refused"`
		} `json:"admin"`
		Runtime struct {
			Mallocs uint64 `json:"mallocs"`
		} `json:"runtime"`
	} `json:"system"`
}

// packets is every frame the driver moved, both ways, counting a TSO frame
// as the segments the device made of it.
func (s *statsDoc) packets() uint64 {
	return s.System.NICTotals.RxPackets + s.System.NICTotals.TxSegments
}

func (g *guest) get(t *testing.T, path string) []byte {
	t.Helper()
	return g.getURL(t, g.base+path)
}

// getAdmin GETs a path from the admin listener.
func (g *guest) getAdmin(t *testing.T, path string) []byte {
	t.Helper()
	if g.admin == "" {
		t.Fatal("the guest was booted without the admin listener (withAdmin)")
	}
	return g.getURL(t, g.admin+path)
}

func (g *guest) getURL(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := g.client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v: %s", url, resp.StatusCode, err, b)
	}
	return b
}

func (g *guest) stats(t *testing.T) *statsDoc {
	t.Helper()
	var s statsDoc
	if err := json.Unmarshal(g.get(t, "/stats"), &s); err != nil {
		t.Fatalf("GET /stats: %v", err)
	}
	if s.Name != "tamanet" {
		t.Fatalf("GET /stats: name %q", s.Name)
	}
	return &s
}

func (g *guest) testRoot(t *testing.T) {
	if got := string(g.get(t, "/")); got != "hello from tamanet\n" {
		t.Fatalf("GET / = %q", got)
	}
}

// bootPhases are the boot phases in the order the console and GET /stats
// must show them, with their /stats keys.
var bootPhases = []struct{ console, key string }{
	{"firmware hand-off", "firmware_handoff_seconds"},
	{"runtime up", "runtime_up_seconds"},
	{"main", "main_seconds"},
	{"PCI enumerated", "pci_seconds"},
	{"NIC reset", "nic_reset_seconds"},
	{"NIC receive enabled", "rx_enabled_seconds"},
	{"link up", "link_up_seconds"},
	{"ACPI and interrupts up", "irq_seconds"},
	{"stack up", "stack_seconds"},
	{"READY", "ready_seconds"},
	{"first frame received", "first_rx_seconds"},
}

// testBoot checks the boot phases after the guest has answered: each on the
// console and in GET /stats, in order, the first frame received no earlier
// than QEMU's e1000 allows (one second after the RCTL write, which the
// guest measures on the same clock as QEMU), and RCTL written only once.
func (g *guest) testBoot(t *testing.T) {
	s := g.stats(t)
	// The phases in nanoseconds, as the guest measured them.
	boot := func(key string) (uint64, bool) {
		sec, ok := s.System.Boot[key]
		return uint64(math.Round(sec * 1e9)), ok
	}
	var last uint64
	for _, p := range bootPhases {
		ns, ok := boot(p.key)
		if !ok || ns == 0 || ns < last {
			t.Errorf("/stats boot.%s = %d (present %v), want after the phase before (%d ns)", p.key, ns, ok, last)
		}
		last = max(last, ns)
		line := vmtest.Await(t, g.vm, fmt.Sprintf("ms  %s", p.console), 0, linkTimeout)
		if !strings.HasPrefix(line.Text, "boot: ") {
			t.Errorf("console line %q: want a boot: line", line.Text)
		}
	}
	rctl, _ := boot("rx_enabled_seconds")
	first, _ := boot("first_rx_seconds")
	if first < rctl+990*uint64(time.Millisecond) {
		t.Errorf("first frame %v after the RCTL write: QEMU's e1000 should have held it back for 1 s",
			time.Duration(first-rctl))
	}
	if up, _ := boot("uptime_seconds"); up < first {
		t.Errorf("uptime %v before the first frame (%v)", time.Duration(up), time.Duration(first))
	}
	if s.System.E1000 == nil {
		return // the rest is the e1000's receive hold
	}
	if n := s.System.E1000.Device.RCTLWrites; n != 1 {
		t.Errorf("%d RCTL writes, want 1 (each one stops QEMU's e1000 receiving for a second)", n)
	}
	ready := vmtest.Await(t, g.vm, "READY tamanet", 0, linkTimeout)
	if !strings.Contains(ready.Text, "no frame received yet") && !strings.Contains(ready.Text, "receiving since") {
		t.Errorf("READY line does not say whether the NIC receives: %q", ready.Text)
	}
	t.Logf("boot phases (ms since the VM started): rx enabled %.1f, ready %.1f, first frame %.1f",
		float64(rctl)/1e6, 1e3*s.System.Boot["ready_seconds"], float64(first)/1e6)
}

// testKeepAlive sends sequential GET / on one keep-alive connection, all of
// which must succeed, and reports the latency distribution.
func (g *guest) testKeepAlive(t *testing.T) {
	g.get(t, "/") // the connection the loop reuses
	before := g.stats(t)
	lat := make([]time.Duration, 0, keepAliveRequests)
	for i := range keepAliveRequests {
		start := time.Now()
		resp, err := g.client.Get(g.base + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if err != nil || resp.StatusCode != http.StatusOK || string(b) != "hello from tamanet\n" {
			t.Fatalf("request %d: status %d, %v, %q", i, resp.StatusCode, err, b)
		}
	}
	after := g.stats(t)
	if n := after.Service.HTTPRouteRequests["/"] - before.Service.HTTPRouteRequests["/"]; n != keepAliveRequests {
		t.Errorf("guest counted %d GET /, want %d", n, keepAliveRequests)
	}
	// The GET /stats above shares the connection; any reconnect would show.
	if n := after.Service.HTTPConnections - before.Service.HTTPConnections; n != 0 {
		t.Errorf("%d new connections during the keep-alive run, want 0", n)
	}
	slices.Sort(lat)
	pct := func(p int) time.Duration { return lat[len(lat)*p/100] }
	t.Logf("%d sequential keep-alive GET /: p50 %v p90 %v p99 %v max %v",
		len(lat), pct(50), pct(90), pct(99), lat[len(lat)-1])
}

// delta is what a transfer cost in each layer's counters.
type delta struct {
	packets, rxPackets, txPackets, irqs, napiIRQs, polls uint64
	exhaustions, completions, missed                     uint64
	doorbells, txBytes, rxBytes, txFrames, txSegments    uint64
	acksCoalesced                                        uint64
	napiHist                                             [napi.HistogramBuckets]uint64
	// allocs are the guest's heap allocations during the transfer, the
	// /stats request that ends it included; statsAllocs is what one /stats
	// request costs, which the per-packet figure leaves out.
	allocs, statsAllocs uint64
}

func (d delta) String() string {
	per := func(n uint64) float64 { return float64(n) / float64(max(d.packets, 1)) }
	net := d.allocs - min(d.allocs, d.statsAllocs)
	return fmt.Sprintf("%d packets (rx %d tx %d on the wire), %d IRQs (%.3f/packet, %.2f/MB), %d NAPI schedules, %d polls "+
		"(%d budget exhaustions, %d completions, %d missed repolls), %d TDT writes (%.2f/MB sent), "+
		"%d pure ACKs coalesced, %d heap allocations less %d for a /stats request (%.3f/packet)",
		d.packets, d.rxPackets, d.txPackets, d.irqs, per(d.irqs), d.irqsPerMB(), d.napiIRQs, d.polls,
		d.exhaustions, d.completions, d.missed, d.doorbells, d.doorbellsPerMB(), d.acksCoalesced, d.allocs, d.statsAllocs, per(net))
}

// doorbellsPerMB is transmit doorbells per 10^6 bytes transmitted.
func (d delta) doorbellsPerMB() float64 {
	return float64(d.doorbells) * 1e6 / float64(max(d.txBytes, 1))
}

// irqsPerMB is the NIC's interrupts per 10^6 bytes moved either way.
func (d delta) irqsPerMB() float64 {
	return float64(d.irqs) * 1e6 / float64(max(d.txBytes+d.rxBytes, 1))
}

// transferStart takes the "before" snapshot of a transfer. It reads /stats
// twice: the allocations between the two are what one /stats request costs
// the guest, which diff subtracts.
func (g *guest) transferStart(t *testing.T) (before *statsDoc, statsAllocs uint64) {
	t.Helper()
	s0 := g.stats(t)
	s1 := g.stats(t)
	return s1, s1.System.Runtime.Mallocs - s0.System.Runtime.Mallocs
}

func diff(a, b *statsDoc, statsAllocs uint64) delta {
	at, bt := &a.System.NICTotals, &b.System.NICTotals
	d := delta{
		packets:       b.packets() - a.packets(),
		rxPackets:     bt.RxPackets - at.RxPackets,
		txPackets:     bt.TxSegments - at.TxSegments,
		doorbells:     bt.TxDoorbells - at.TxDoorbells,
		txBytes:       bt.TxBytes - at.TxBytes,
		rxBytes:       bt.RxBytes - at.RxBytes,
		txFrames:      bt.TxPackets - at.TxPackets,
		txSegments:    bt.TxSegments - at.TxSegments,
		acksCoalesced: b.System.Netif.RxACKsCoalesced - a.System.Netif.RxACKsCoalesced,
		irqs:          bt.Interrupts - at.Interrupts,
		napiIRQs:      bt.NAPI.IRQs - at.NAPI.IRQs,
		polls:         bt.NAPI.Polls - at.NAPI.Polls,
		exhaustions:   bt.NAPI.BudgetExhaustions - at.NAPI.BudgetExhaustions,
		completions:   bt.NAPI.Completions - at.NAPI.Completions,
		missed:        bt.NAPI.MissedRepolls - at.NAPI.MissedRepolls,
		allocs:        b.System.Runtime.Mallocs - a.System.Runtime.Mallocs,
		statsAllocs:   statsAllocs,
	}
	hb, ha := bt.NAPI.PollSizes.Buckets, at.NAPI.PollSizes.Buckets
	for i := range min(len(d.napiHist), len(hb), len(ha)) {
		d.napiHist[i] = hb[i].Count - ha[i].Count
	}
	return d
}

// patternHash is the SHA-256 of the first n bytes GET /bytes sends.
func patternHash(n int64) []byte {
	sum := service.PatternSHA256(n)
	return sum[:]
}

// testDownload fetches n bytes from /bytes, checks their SHA-256 and reports
// the throughput and what the transfer cost in each layer. With checkIRQs it
// asserts that the interrupts were fewer than the packets, which the default
// moderation (ITR) and NAPI together should give.
func (g *guest) testDownload(t *testing.T, n int64, checkIRQs bool) delta {
	want := patternHash(n)
	before, statsAllocs := g.transferStart(t)
	ctx, cancel := context.WithTimeout(context.Background(), bulkTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/bytes?n=%d", g.base, n), nil)
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil || got != n || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /bytes?n=%d: status %d, %d bytes, %v", n, resp.StatusCode, got, err)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		t.Fatalf("GET /bytes?n=%d: SHA-256 mismatch", n)
	}
	d := diff(before, g.stats(t), statsAllocs)
	t.Logf("download %d MiB in %v: %.1f MB/s; %v", n>>20, elapsed.Round(time.Millisecond),
		float64(n)/elapsed.Seconds()/1e6, d)
	if d.rxPackets == 0 || d.txPackets < uint64(n/e1000.MTU) {
		t.Errorf("driver counted rx %d tx %d packets for %d bytes", d.rxPackets, d.txPackets, n)
	}
	if checkIRQs && d.irqs >= d.packets {
		t.Errorf("%d interrupts for %d packets: with NAPI and the default moderation there should be fewer interrupts than packets", d.irqs, d.packets)
	}
	return d
}

// testUpload posts n pseudo-random bytes to /echo, checks that the echo has
// the same SHA-256 and reports what the transfer cost in each layer. With
// checkIRQs it asserts that the interrupts were fewer than the packets,
// which the default moderation (ITR) and NAPI together should give.
func (g *guest) testUpload(t *testing.T, n int64, checkIRQs bool) delta {
	before, statsAllocs := g.transferStart(t)
	sent := sha256.New()
	body := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{'t', 'a', 'm', 'a'}), n), sent)
	ctx, cancel := context.WithTimeout(context.Background(), bulkTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", g.base+"/echo", body)
	req.ContentLength = n
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	back := sha256.New()
	got, err := io.Copy(back, resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil || got != n || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /echo: status %d, %d bytes back, %v", resp.StatusCode, got, err)
	}
	if !bytes.Equal(sent.Sum(nil), back.Sum(nil)) {
		t.Fatal("POST /echo: the echo's SHA-256 differs from the body's")
	}
	d := diff(before, g.stats(t), statsAllocs)
	t.Logf("upload %d MiB (echoed back) in %v: %.1f MB/s each way; %v", n>>20,
		elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds()/1e6, d)
	if checkIRQs && d.irqs >= d.packets {
		t.Errorf("%d interrupts for %d packets: with NAPI and the default moderation there should be fewer interrupts than packets", d.irqs, d.packets)
	}
	return d
}

// testEcho checks TCP and UDP echo on port 7.
func (g *guest) testEcho(t *testing.T) {
	c, err := net.DialTimeout("tcp", g.echo, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	msg := bytes.Repeat([]byte("tamanet echo "), 5000) // 65 kB: many segments
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("TCP echo: %v (equal %v)", err, bytes.Equal(got, msg))
	}

	u, err := net.Dial("udp", g.echo)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	// QEMU's user networking drops nothing on loopback, but UDP promises
	// nothing: allow a retry before calling it lost.
	for try := 1; ; try++ {
		dgram := []byte(fmt.Sprintf("udp echo %d", try))
		if _, err := u.Write(dgram); err != nil {
			t.Fatal(err)
		}
		u.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1500)
		n, err := u.Read(buf)
		if err == nil {
			if !bytes.Equal(buf[:n], dgram) {
				t.Fatalf("UDP echo: sent %q, got %q", dgram, buf[:n])
			}
			break
		}
		if try == 3 {
			t.Fatalf("UDP echo: no reply to %d datagrams: %v", try, err)
		}
	}
	s := g.stats(t).Service
	if s.TCPEchoBytes < uint64(len(msg)) || s.UDPEchoPackets == 0 {
		t.Errorf("echo counters %d TCP bytes, %d UDP packets", s.TCPEchoBytes, s.UDPEchoPackets)
	}
}

// testMetrics checks /metrics as Prometheus sees it: Debian's promtool
// passes it, the Prometheus text parser finds every layer with the right
// types and labels, and a second scrape after more traffic has every
// counter (and histogram count) at least where the first left it.
func (g *guest) testMetrics(t *testing.T) {
	promtool := vmtest.Tool(t, "promtool", "prometheus")
	first := g.get(t, "/metrics")
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(first)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	m1 := parseMetrics(t, first)
	for _, c := range []struct {
		name   string
		typ    dto.MetricType
		labels string // one sample's labels, as "name=value,..."; "" for any
	}{
		{"tamanet_e1000_rx_packets_total", dto.MetricType_COUNTER, ""},
		{"tamanet_e1000_hw_good_packets_rx_total", dto.MetricType_COUNTER, ""},
		{"tamanet_e1000_link_up", dto.MetricType_GAUGE, ""},
		{"tamanet_e1000_napi_polls_total", dto.MetricType_COUNTER, ""},
		{"tamanet_e1000_napi_poll_sizes", dto.MetricType_HISTOGRAM, ""},
		{"tamanet_netif_rx_frames_total", dto.MetricType_COUNTER, ""},
		{"tamanet_netif_carrier", dto.MetricType_GAUGE, ""},
		{"tamanet_stack_tcp_passive_connection_openings_total", dto.MetricType_COUNTER, ""},
		{"tamanet_tcp_connections_established", dto.MetricType_GAUGE, ""},
		{"tamanet_irq_lines_count_total", dto.MetricType_COUNTER, "line,gsi,vector,trigger,polarity"},
		{"tamanet_irq_lines_handlers_total", dto.MetricType_COUNTER, "line,gsi,vector,trigger,polarity,handler=e1000"},
		{"tamanet_irq_total", dto.MetricType_COUNTER, ""},
		{"tamanet_pci_functions", dto.MetricType_GAUGE, ""},
		{"tamanet_napi_mode_info", dto.MetricType_GAUGE, "mode=napi"},
		{"tamanet_runtime_mallocs_total", dto.MetricType_COUNTER, ""},
		{"tamanet_runtime_heap_alloc_bytes", dto.MetricType_GAUGE, ""},
		{"service_http_route_requests_total", dto.MetricType_COUNTER, "route=/"},
		{"service_http_request_seconds", dto.MetricType_HISTOGRAM, "route=/"},
		{"go_sched_latencies_seconds", dto.MetricType_HISTOGRAM, ""},
		{"promhttp_metric_handler_errors_total", dto.MetricType_COUNTER, "cause=gathering"},
		{"tamanet_cost_tx_doorbells_per_megabyte", dto.MetricType_GAUGE, ""},
		{"tamanet_cost_irqs_per_megabyte", dto.MetricType_GAUGE, ""},
	} {
		f := m1[c.name]
		switch {
		case f == nil:
			t.Errorf("/metrics has no %s", c.name)
		case f.GetType() != c.typ:
			t.Errorf("%s is a %v, want %v", c.name, f.GetType(), c.typ)
		case c.labels != "" && !slices.ContainsFunc(f.Metric, func(m *dto.Metric) bool { return hasLabels(m, c.labels) }):
			t.Errorf("%s has no sample labelled %s: %v", c.name, c.labels, f.Metric)
		}
	}
	for _, name := range []string{"tamanet_e1000_rx_packets_total", "tamanet_e1000_hw_good_packets_rx_total", "tamanet_irq_total"} {
		if v := sampleValues(m1[name]); v[""] == 0 {
			t.Errorf("%s is 0 after the transfers", name)
		}
	}
	for _, m := range m1["promhttp_metric_handler_errors_total"].GetMetric() {
		if m.Counter.GetValue() != 0 {
			t.Errorf("the metrics handler reports errors: %v", m)
		}
	}

	g.testRoot(t)
	m2 := parseMetrics(t, g.get(t, "/metrics"))
	grew := 0
	for name, f1 := range m1 {
		if f1.GetType() != dto.MetricType_COUNTER && f1.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		v2 := sampleValues(m2[name])
		for labels, v1 := range sampleValues(f1) {
			switch after, ok := v2[labels]; {
			case !ok:
				t.Errorf("%s{%s} gone from the second scrape", name, labels)
			case after < v1:
				t.Errorf("%s{%s} went down from %v to %v", name, labels, v1, after)
			case after > v1:
				grew++
			}
		}
	}
	if grew == 0 {
		t.Error("no counter grew between two scrapes with traffic in between")
	}
	t.Logf("/metrics: %d bytes, %d families; %d counters grew between scrapes", len(first), len(m1), grew)
}

func parseMetrics(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// sampleValues maps each sample's labels to its value (a histogram's to its
// count).
func sampleValues(f *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		var parts []string
		for _, l := range m.Label {
			parts = append(parts, l.GetName()+"="+l.GetValue())
		}
		v := m.GetCounter().GetValue()
		if h := m.GetHistogram(); h != nil {
			v = float64(h.GetSampleCount())
		}
		out[strings.Join(parts, ",")] = v
	}
	return out
}

// hasLabels reports whether m has every label in spec ("name" or
// "name=value", comma-separated).
func hasLabels(m *dto.Metric, spec string) bool {
	for _, want := range strings.Split(spec, ",") {
		name, value, exact := strings.Cut(want, "=")
		if !slices.ContainsFunc(m.Label, func(l *dto.LabelPair) bool {
			return l.GetName() == name && (!exact || l.GetValue() == value)
		}) {
			return false
		}
	}
	return true
}

// testBadRequest checks that a bad /bytes count is refused, counted, and
// leaves the service working.
func (g *guest) testBadRequest(t *testing.T) {
	before := g.stats(t).Service.BytesBadRequests
	resp, err := g.client.Get(g.base + "/bytes?n=-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "bad n") {
		t.Fatalf("GET /bytes?n=-1: status %d %q", resp.StatusCode, b)
	}
	if after := g.stats(t).Service.BytesBadRequests; after != before+1 {
		t.Errorf("bad requests counted %d -> %d", before, after)
	}
	g.testRoot(t)
}

// testLinkFlap takes the link down and up through QEMU's monitor in the
// middle of a download: the guest must see carrier go and come back, refuse
// traffic meanwhile, and finish the download intact afterwards.
func (g *guest) testLinkFlap(t *testing.T) {
	monCtx, monCancel := context.WithTimeout(context.Background(), bulkTimeout)
	defer monCancel()
	mon, err := g.vm.QMP(monCtx)
	if err != nil {
		t.Fatal(err)
	}
	before := g.stats(t)
	want := patternHash(flapBytes)
	ctx, cancel := context.WithTimeout(context.Background(), bulkTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/bytes?n=%d", g.base, flapBytes), nil)
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, resp.Body, 1<<20); err != nil {
		t.Fatalf("first MiB: %v", err)
	}

	mark := g.vm.Console.Mark()
	if err := mon.SetLink("net0", false); err != nil {
		t.Fatal(err)
	}
	down := vmtest.Await(t, g.vm, "tamanet: link down", mark, linkTimeout)
	t.Logf("%s", down.Text)
	// While the link is down nothing reaches the guest.
	short := &http.Client{Timeout: 3 * time.Second}
	if r, err := short.Get(g.base + "/"); err == nil {
		r.Body.Close()
		t.Errorf("GET / answered (status %d) while the link was down", r.StatusCode)
	}

	mark = g.vm.Console.Mark()
	upAt := time.Now()
	if err := mon.SetLink("net0", true); err != nil {
		t.Fatal(err)
	}
	up := vmtest.Await(t, g.vm, "tamanet: link up", mark, linkTimeout)
	t.Logf("%s (%v after set_link on)", up.Text, up.At.Sub(upAt).Round(time.Millisecond))

	rest, err := io.Copy(h, resp.Body)
	if err != nil || rest != flapBytes-1<<20 {
		t.Fatalf("rest of the download after the flap: %d bytes, %v", rest, err)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		t.Fatal("download across the flap: SHA-256 mismatch")
	}
	t.Logf("download resumed and completed %v after link up", time.Since(up.At).Round(time.Millisecond))
	g.testRoot(t)

	after := g.stats(t)
	a, b := after.System, before.System
	if a.Netif.LinkDown-b.Netif.LinkDown < 1 || a.Netif.LinkUp-b.Netif.LinkUp < 1 {
		t.Errorf("netif saw %d carrier losses and %d returns, want at least 1 each",
			a.Netif.LinkDown-b.Netif.LinkDown, a.Netif.LinkUp-b.Netif.LinkUp)
	}
	if n := a.NICTotals.LinkChanges - b.NICTotals.LinkChanges; n < 2 {
		t.Errorf("driver reported %d link changes, want at least 2", n)
	}
	if n := a.NICTotals.LinkInterrupts - b.NICTotals.LinkInterrupts; n < 2 {
		t.Errorf("driver took %d link status change interrupts, want at least 2", n)
	}
	if !a.NICTotals.LinkUp || !a.Netif.Carrier {
		t.Errorf("after the flap: driver link %v, netif carrier %v", a.NICTotals.LinkUp, a.Netif.Carrier)
	}
}
