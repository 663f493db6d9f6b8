//go:build tamago

package main

import (
	"runtime"
	"strings"
	"sync/atomic"

	"tamanet/board"
	"tamanet/cmd/internal/service"
	"tamanet/cmd/tamanet/internal/flatstats"
	"tamanet/e1000"
	"tamanet/kernel"
	"tamanet/napi"
	"tamanet/netif"
	"tamanet/pci"
)

// system is the unikernel's side of GET /stats and /metrics.
type system struct {
	nic    *nic
	stack  *netif.Stack
	boot   *bootLog
	mode   napi.Mode
	budget int

	// flattenErrors counts /metrics scrapes whose statistics document had
	// values that could not be exposed (see flatstats.Flatten).
	flattenErrors atomic.Uint64
}

// systemStats is the "system" member of GET /stats: every layer's counters,
// bottom up.
type systemStats struct {
	NAPIMode   string `json:"napi_mode"`
	NAPIBudget int    `json:"napi_budget"`
	// Boot is when each boot phase happened.
	Boot bootStats `json:"boot"`
	// ClockNs is the board clock in nanoseconds, for rates between two
	// snapshots. It counts from power-on, but at an assumed rate until the
	// board calibrated the TSC, so it is not an exact uptime.
	ClockNs uint64 `json:"clock_ns"`
	TSCHz   uint64 `json:"tsc_hz"`
	// IRQ is the kernel's interrupt accounting, per line.
	IRQ kernel.IRQStats `json:"irq"`
	// Halts counts idle-loop halts.
	Halts uint64    `json:"halts"`
	PCI   pci.Stats `json:"pci"`
	// E1000 is the driver: hardware statistics registers, receive and
	// transmit paths, interrupts, NAPI.
	E1000 e1000.Stats `json:"e1000"`
	// Netif is the link endpoint's counters; Stack every gVisor counter.
	Netif   netif.Counters    `json:"netif"`
	Stack   map[string]uint64 `json:"stack"`
	Runtime runtimeStats      `json:"runtime"`
}

// runtimeStats is what the Go runtime says about memory and scheduling.
type runtimeStats struct {
	// Mallocs and TotalAllocBytes count every heap allocation since boot
	// (objects and bytes); their deltas over a transfer divided by its
	// packets give allocations per packet.
	Mallocs         uint64 `json:"mallocs"`
	TotalAllocBytes uint64 `json:"total_alloc_bytes"`
	HeapAllocBytes  uint64 `json:"heap_alloc_bytes"`
	GCCycles        uint64 `json:"gc_cycles"`
	Goroutines      uint64 `json:"goroutines"`
}

// readRuntimeStats uses ReadMemStats, whose counts are exact (runtime/metrics
// leaves out tiny objects): the world stops for a moment, which on one CPU
// costs the same as any other goroutine running.
func readRuntimeStats() runtimeStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtimeStats{
		Mallocs:         m.Mallocs,
		TotalAllocBytes: m.TotalAlloc,
		HeapAllocBytes:  m.HeapAlloc,
		GCCycles:        uint64(m.NumGC),
		Goroutines:      uint64(runtime.NumGoroutine()),
	}
}

// stats takes the snapshot. The hardware statistics registers are read
// first, so they are current rather than as of the last watchdog run.
func (s *system) stats() systemStats {
	d := s.nic.dev
	d.UpdateStats()
	ns := s.stack.Stats()
	return systemStats{
		NAPIMode:   s.mode.String(),
		NAPIBudget: s.budget,
		Boot:       s.boot.stats(),
		ClockNs:    uint64(board.Nanotime()),
		TSCHz:      board.TSCFrequency(),
		IRQ:        kernel.Stats(),
		Halts:      kernel.Halts(),
		PCI:        s.nic.bus.Stats,
		E1000:      d.Stats(),
		Netif:      ns.Netif,
		Stack:      ns.Stack,
		Runtime:    readRuntimeStats(),
	}
}

// metrics exposes the same document: every number under its path, prefixed
// "tamanet_" (e.g. tamanet_e1000_RX_Packets). Booleans, the clock, the boot
// phase times and the live gauges are gauges; the rest only grow.
func (s *system) metrics() []service.Metric {
	flat, err := flatstats.Flatten(s.stats())
	if err != nil {
		s.flattenErrors.Add(1)
	}
	ms := service.CounterMetrics("tamanet_", flat)
	for i := range ms {
		if gauges[ms[i].Name] || strings.HasSuffix(ms[i].Name, "_disabled") ||
			strings.HasPrefix(ms[i].Name, "tamanet_boot_") {
			ms[i].Type = service.Gauge
		}
	}
	return append(ms,
		service.Metric{Name: "tamanet_napi_mode_info", Help: "NAPI mode in use (value 1).",
			Type: service.Gauge, Labels: []service.Label{{Name: "mode", Value: s.mode.String()}}, Value: 1},
		service.Metric{Name: "tamanet_metrics_flatten_errors_total",
			Help: "Scrapes whose statistics had values that are not unsigned integers.",
			Type: service.Counter, Value: s.flattenErrors.Load()},
	)
}

// gauges are the metrics that can go down, besides the interrupt lines'
// "disabled" flags.
var gauges = map[string]bool{
	"tamanet_napi_budget":              true,
	"tamanet_clock_ns":                 true,
	"tamanet_tsc_hz":                   true,
	"tamanet_e1000_LinkUp":             true,
	"tamanet_netif_carrier":            true,
	"tamanet_runtime_heap_alloc_bytes": true,
	"tamanet_runtime_goroutines":       true,
}
