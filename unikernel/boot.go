//go:build tamago

package unikernel

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"tamanet/board"
	"tamanet/e1000"
)

// rxHold is how long QEMU's e1000 holds received frames back after an RCTL
// write (flush_queue_timer in hw/net/e1000.c, on QEMU's virtual clock).
const rxHold = time.Second

// Boot phases, in the order they normally happen.
const (
	phaseHandoff   = "firmware hand-off"
	phaseRuntime   = "runtime up"
	phaseMain      = "main"
	phasePCI       = "PCI enumerated"
	phaseReset     = "NIC reset"
	phaseRxEnabled = "NIC receive enabled"
	phaseLinkUp    = "link up"
	phaseIRQ       = "ACPI and interrupts up"
	phaseStack     = "stack up"
	phaseLease     = "DHCP lease"
	phaseReady     = "READY"
	phaseWarm      = "warm-up request served"
	phaseFirstRx   = "first frame received"
)

// bootLog records the boot phases with their time since the CPU came out of
// reset: under QEMU, since the virtual machine started running, which is
// also where QEMU's virtual clock (the one its e1000 times with) starts. The
// TSC is read when a phase happens and converted when it is printed, so
// phases before the clock's calibration are exact too.
//
// A phase is printed on the console as it is marked once the board clock is
// calibrated (kernel.Init completes it; phases before are printed by flush),
// except for the first received frame, which the poll loop reports: it is
// printed by a goroutine (see printLate).
type bootLog struct {
	mu      sync.Mutex
	phases  []bootPhase
	printed int // phases[:printed] are on the console

	// firstRx is the TSC of the first received frame, set from the poll
	// loop; late tells printLate.
	firstRx atomic.Uint64
	late    chan struct{}
	// rxHold is set on a NIC that holds frames back for rxHold after
	// receive is enabled (QEMU's e1000).
	rxHold atomic.Bool
}

// bootPhase is one phase and the TSC when it happened.
type bootPhase struct {
	name string
	tsc  uint64
}

func newBootLog() *bootLog {
	b := &bootLog{late: make(chan struct{}, 1)}
	b.record(phaseHandoff, board.HandoffTSC())
	b.record(phaseRuntime, board.RuntimeUpTSC())
	return b
}

// mark records phase name as happening now.
func (b *bootLog) mark(name string) { b.record(name, board.TSC()) }

// record records and prints phase name at tsc; only its first occurrence
// counts.
func (b *bootLog) record(name string, tsc uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.phases {
		if p.name == name {
			return
		}
	}
	b.phases = append(b.phases, bootPhase{name, tsc})
	b.printLocked()
}

// flush prints the phases recorded before the clock was calibrated.
func (b *bootLog) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.printLocked()
}

func (b *bootLog) printLocked() {
	if !board.Calibrated() {
		return
	}
	for _, p := range b.phases[b.printed:] {
		at := board.SinceReset(p.tsc)
		line := fmt.Sprintf("boot: %8.1f ms  %s", ms(at), p.name)
		if p.name == phaseRxEnabled && b.rxHold.Load() {
			line += fmt.Sprintf(" (QEMU's e1000 holds frames back until %.1f ms)", ms(at+rxHold))
		}
		fmt.Println(line)
	}
	b.printed = len(b.phases)
}

// at returns the time since reset of phase name, if it happened.
func (b *bootLog) at(name string) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.phases {
		if p.name == name {
			return board.SinceReset(p.tsc), true
		}
	}
	return 0, false
}

// e1000Event is the e1000's Config.Event: reset and receive enable happen
// on main's goroutine during bring-up, the first frame in the poll loop,
// which must not wait for the console.
func (b *bootLog) e1000Event(e e1000.Event) {
	switch e {
	case e1000.EventReset:
		b.mark(phaseReset)
	case e1000.EventRxEnabled:
		b.mark(phaseRxEnabled)
		b.rxHold.Store(true)
	case e1000.EventFirstFrame:
		b.firstFrame()
	}
}

// firstFrame records the first received frame's TSC, from the poll loop.
func (b *bootLog) firstFrame() {
	b.firstRx.CompareAndSwap(0, board.TSC())
	select {
	case b.late <- struct{}{}:
	default:
	}
}

// printLate records and prints the first received frame when the poll
// loop reports it.
func (b *bootLog) printLate() {
	<-b.late
	b.record(phaseFirstRx, b.firstRx.Load())
}

// bootStats is the "boot" member of GET /stats (and the tamanet_boot_*
// gauges): each phase's time since reset in seconds (nanosecond
// resolution), 0 until it happens.
type bootStats struct {
	FirmwareHandoffSeconds float64 `json:"firmware_handoff_seconds"`
	RuntimeUpSeconds       float64 `json:"runtime_up_seconds"`
	MainSeconds            float64 `json:"main_seconds"`
	PCISeconds             float64 `json:"pci_seconds"`
	NICResetSeconds        float64 `json:"nic_reset_seconds"`
	RxEnabledSeconds       float64 `json:"rx_enabled_seconds"`
	LinkUpSeconds          float64 `json:"link_up_seconds"`
	IRQSeconds             float64 `json:"irq_seconds"`
	StackSeconds           float64 `json:"stack_seconds"`
	// LeaseSeconds is when the first DHCP lease came (ip=dhcp).
	LeaseSeconds   float64 `json:"lease_seconds"`
	ReadySeconds   float64 `json:"ready_seconds"`
	WarmSeconds    float64 `json:"warm_seconds"`
	FirstRxSeconds float64 `json:"first_rx_seconds"`
	// UptimeSeconds is the time since reset when the snapshot was taken,
	// so a client can place the phases on its own clock (half way between
	// sending the request and reading the answer; GET /debug/boot reads it
	// last thing before answering, /stats before gathering everything
	// else).
	UptimeSeconds float64 `json:"uptime_seconds"`
}

func (b *bootLog) stats() bootStats {
	sec := func(name string) float64 {
		d, _ := b.at(name)
		return d.Seconds()
	}
	return bootStats{
		FirmwareHandoffSeconds: sec(phaseHandoff),
		RuntimeUpSeconds:       sec(phaseRuntime),
		MainSeconds:            sec(phaseMain),
		PCISeconds:             sec(phasePCI),
		NICResetSeconds:        sec(phaseReset),
		RxEnabledSeconds:       sec(phaseRxEnabled),
		LinkUpSeconds:          sec(phaseLinkUp),
		IRQSeconds:             sec(phaseIRQ),
		StackSeconds:           sec(phaseStack),
		LeaseSeconds:           sec(phaseLease),
		ReadySeconds:           sec(phaseReady),
		WarmSeconds:            sec(phaseWarm),
		FirstRxSeconds:         sec(phaseFirstRx),
		UptimeSeconds:          board.SinceReset(board.TSC()).Seconds(),
	}
}

// serveDebugBoot answers GET /debug/boot: the boot phases as in /stats, with
// the uptime read just before the answer is written, so that a client's
// round trip brackets it closely.
func (b *bootLog) serveDebugBoot(w http.ResponseWriter, _ *http.Request) {
	st := b.stats()
	st.UptimeSeconds = board.SinceReset(board.TSC()).Seconds()
	body, err := json.Marshal(st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(body, '\n'))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
