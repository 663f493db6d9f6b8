//go:build tamago

package unikernel

import (
	"tamanet/board"
	"tamanet/dhcpclient"
	"tamanet/e1000"
	"tamanet/kernel"
	"tamanet/lattrace"
	"tamanet/napi"
	"tamanet/netstack"
	"tamanet/pci"
	"tamanet/sntp"
	"tamanet/unikernel/admin"
	"tamanet/unikernel/entropy"
	"tamanet/unikernel/runtimestats"
	"tamanet/unikernel/tlsroots"
	"tamanet/virtio/mmio"
	"tamanet/virtio/virtionet"
)

// Stats is a snapshot of every layer's statistics: the "system" member of
// GET /stats and the tamanet_* metrics of GET /metrics. It holds each
// layer's own Stats struct, bottom up, rendered by tamanet/expose (a
// counter added to a layer's struct shows up in both without code here;
// gauges say so in their tags).
type Stats struct {
	// Addresses are the NIC's addresses, IPv4 and IPv6 (JSON only).
	Addresses []string `json:"addresses"`
	// DNS is the name server of boot option dns=, else of the DHCP
	// lease, "" if none (JSON only).
	DNS string `json:"dns"`
	// DHCP is the DHCP client's state, lease and counters; absent
	// without ip=dhcp.
	DHCP *dhcpclient.Stats `json:"dhcp"`
	// Resolver is what /etc/resolv.conf and /etc/hosts say, and their
	// rewrites.
	Resolver resolverStats `json:"resolver"`
	// TLSRoots counts the roots crypto/x509 verifies with.
	TLSRoots   tlsroots.Stats `json:"tls_roots"`
	NAPIMode   string         `json:"napi_mode" metric:"info=mode"`
	NAPIBudget int            `json:"napi_budget" metric:"gauge"`
	// Mitigation reports whether the NIC's interrupt moderation timers
	// are on (boot option mitigation=).
	Mitigation bool `json:"mitigation"`
	// Offload reports whether the NIC's offloads (TSO, checksum
	// insertion) and GRO are used (boot option offload=).
	Offload bool `json:"offload"`
	// MTU is the largest IP packet the NIC carries (boot option mtu=).
	MTU int `json:"mtu" metric:"gauge"`
	// Boot is when each boot phase happened.
	Boot bootStats `json:"boot"`
	// Entropy is where random numbers come from.
	Entropy entropy.Stats `json:"entropy"`
	// ClockSeconds is the board clock, for rates between two snapshots.
	// It counts from power-on, but at an assumed rate until the board
	// calibrated the TSC, so it is not an exact uptime.
	ClockSeconds float64 `json:"clock_seconds" metric:"counter"`
	TSCHz        uint64  `json:"tsc_hz" metric:"gauge"`
	// WallClock is time.Now and where it was set from (the CMOS RTC at
	// boot, SNTP with ntp=).
	WallClock wallClockStats `json:"wall_clock"`
	// NTP is the SNTP client's server, last offset and round trip, and
	// counters; absent without boot option ntp=.
	NTP *sntp.Stats `json:"ntp"`
	// IRQ is the kernel's interrupt accounting, per line.
	IRQ kernel.IRQStats `json:"irq"`
	// Halts counts idle-loop halts.
	Halts uint64 `json:"halts"`
	// Tick is the runtime's timer tick (it runs only while the CPU is
	// busy): ticks, CPU profile samples, preemptions.
	Tick tickStats `json:"tick"`
	PCI  pci.Stats `json:"pci"`
	// NIC names the device served on ("e1000", "virtio-net").
	NIC string `json:"nic" metric:"info=nic"`
	// NICTotals are the counters every driver keeps, under the same
	// names whichever NIC is served; the driver's own member below has
	// the rest.
	NICTotals nicTotals `json:"nic_totals"`
	// E1000 is the e1000 driver: hardware statistics registers, receive
	// and transmit paths, interrupts, NAPI; absent on another NIC.
	E1000 *e1000.Stats `json:"e1000,omitempty"`
	// VirtioNet is the virtio-net driver: negotiated features, receive
	// and transmit paths, the queues' notifications, interrupts, NAPI;
	// absent on another NIC.
	VirtioNet *virtionet.Stats `json:"virtio_net,omitempty"`
	// VirtioMMIO is the virtio-mmio discovery (microvm): transports
	// named, empty, bound.
	VirtioMMIO mmio.Stats `json:"virtio_mmio"`
	// Cost is what moving data has cost at the device interface, per
	// megabyte, since boot.
	Cost costStats `json:"cost"`
	// Stats is the link's (link endpoint and capture) and the gVisor
	// stack's statistics (netif, stack, tcp_connections).
	netstack.Stats
	// NDP is the IPv6 neighbour discovery bookkeeping: router
	// advertisements applied, coalesced and replayed after link flaps.
	NDP     netstack.NDPStats  `json:"ndp"`
	Runtime runtimestats.Stats `json:"runtime"`
	// Trace is the latency trace's state (GET /debug/trace).
	Trace lattrace.Stats `json:"trace"`
	// Admin counts the admin listener's connections; absent without
	// boot option admin=.
	Admin *admin.Stats `json:"admin"`
}

// costStats are device notifications and interrupts per megabyte (10^6
// bytes) moved since boot: the per-byte costs that offloads and
// notification suppression cut. Rates over an interval come from the
// counters they are made of (the driver's doorbells, interrupts and bytes).
type costStats struct {
	// DoorbellsPerMB is transmit doorbells (e1000 TDT writes, virtio
	// transmit queue notifications) per MB transmitted.
	DoorbellsPerMB float64 `json:"tx_doorbells_per_megabyte"`
	// IRQsPerMB is the NIC's interrupts per MB transmitted or received.
	IRQsPerMB float64 `json:"irqs_per_megabyte"`
}

// nicTotals are the counters common to every NIC driver, for tools and
// tests that compare NICs.
type nicTotals struct {
	// LinkUp is the carrier as the driver last saw it; LinkChanges counts
	// the changes it reported, LinkInterrupts the link (e1000 LSC) or
	// configuration-change (virtio) interrupts that told it.
	LinkUp         bool   `json:"link_up"`
	LinkChanges    uint64 `json:"link_changes"`
	LinkInterrupts uint64 `json:"link_interrupts"`
	// RxPackets and RxBytes count frames handed to the stack.
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	// TxPackets and TxBytes count frames the device reported sent, as the
	// stack handed them over (a TSO frame once); TxSegments the frames
	// those became on the wire.
	TxPackets  uint64 `json:"tx_packets"`
	TxBytes    uint64 `json:"tx_bytes"`
	TxSegments uint64 `json:"tx_segments"`
	// TxDoorbells counts transmit notifications (e1000 TDT writes,
	// virtio transmit queue notifications).
	TxDoorbells uint64 `json:"tx_doorbells"`
	// Interrupts counts the device's interrupts that found work or an
	// event.
	Interrupts uint64 `json:"interrupts"`
	// NAPI is the poll engine's counters.
	NAPI napi.Stats `json:"napi"`
}

// cost works out costStats from t.
func (t nicTotals) cost() costStats {
	return costStats{
		DoorbellsPerMB: perMB(t.TxDoorbells, t.TxBytes),
		IRQsPerMB:      perMB(t.Interrupts, t.TxBytes+t.RxBytes),
	}
}

// perMB is n per 10^6 of bytes, 0 before any byte.
func perMB(n, bytes uint64) float64 {
	if bytes == 0 {
		return 0
	}
	return float64(n) * 1e6 / float64(bytes)
}

// tickStats is runtime.TickStats under /stats names.
type tickStats struct {
	Ticks           uint64 `json:"ticks"`
	ProfileSamples  uint64 `json:"profile_samples"`
	PreemptRequests uint64 `json:"preempt_requests"`
	AsyncPreempts   uint64 `json:"async_preempts"`
}

// Stats takes the snapshot.
func (s *System) Stats() Stats {
	var addrs []string
	for _, p := range s.Stack.Addrs() {
		addrs = append(addrs, p.String())
	}
	var dns string
	if d := s.dns(); d.IsValid() {
		dns = d.String()
	}
	st := Stats{
		Addresses:    addrs,
		DNS:          dns,
		DHCP:         s.dhcpStats(),
		Resolver:     s.names.stats(),
		TLSRoots:     s.tlsRoots,
		NAPIMode:     s.Options.Mode.String(),
		NAPIBudget:   s.nic.dev.NAPI().Budget(),
		Mitigation:   !s.Options.NoMitigation,
		Offload:      !s.Options.NoOffload,
		MTU:          s.nic.dev.MTU(),
		Boot:         s.boot.stats(),
		Entropy:      s.entropy.Stats(),
		ClockSeconds: float64(board.Nanotime()) / 1e9,
		TSCHz:        board.TSCFrequency(),
		WallClock:    s.wallClockStats(),
		NTP:          s.ntpStats(),
		IRQ:          kernel.Stats(),
		Halts:        kernel.Halts(),
		Tick:         tickStats(kernel.TickStats()),
		PCI:          s.nic.bus.Stats,
		NIC:          s.nic.kind,
		VirtioMMIO:   s.nic.mmio,
		Stats:        s.Stack.Stats(),
		Runtime:      runtimestats.Read(s.gcPace),
		Trace:        lattrace.ReadStats(),
		Admin:        s.adminStats(),
		NDP:          s.Stack.NDPStats(),
	}
	// The driver's registers are read now, so they are current rather
	// than as of the last watchdog run.
	s.nic.stats(&st)
	st.Cost = st.NICTotals.cost()
	return st
}
