// Package pktgen runs a NIC driver below any network stack, as a packet
// generator or a receive sink, to measure what the device itself can do:
// the ceiling a stack on top of it can at best reach. In the spirit of
// Linux's pktgen, frames are prepared once and the transmit ring is kept
// full for a given time; the sink counts and drops every frame in the
// driver's receive upcall until the sender ends the measurement with an
// end marker (a frame of EtherType 0x88B5, IEEE's local experimental one,
// whose payload starts with "TAMANET-SINK-END").
//
// Each measurement is reported as the driver saw it (frames, bytes), as
// the wire carries it (TSO segments with their headers) and, where the
// device keeps statistics registers (the e1000's GPTC/GOTC, GPRC/GORC,
// MPC), as the device counted it; the report's String is the console line
// the unikernel prints (PKTGEN done, PKTGEN sink), which ParseDone and
// ParseSink read back on the host.
//
// It depends on no network stack: Driver is the part of netif's driver
// interface it uses, which the e1000 and virtio-net drivers satisfy.
package pktgen

import (
	"errors"
	"fmt"
	"time"

	"tamanet/txframe"
)

// Driver is what pktgen needs of a NIC driver: netif.Driver without the
// stack's concerns.
type Driver interface {
	MTU() int
	MAC() [6]byte
	LinkUp() bool
	Transmit(frames []txframe.Frame) int
	TxCapabilities() txframe.Capabilities
	Attach(rx func(frame []byte, csumOK bool), link func(up bool), txReady func())
}

// Mode is what the generator does.
type Mode uint8

const (
	// ModeOff is no generator: the unikernel serves as usual.
	ModeOff Mode = iota
	// ModeTx transmits identical UDP frames.
	ModeTx
	// ModeTSO transmits identical TCP super-frames for the device to
	// segment.
	ModeTSO
	// ModeSink counts and drops what arrives.
	ModeSink
)

var modeNames = [...]string{ModeOff: "off", ModeTx: "tx", ModeTSO: "tso", ModeSink: "sink"}

// String is the mode's name on the console and in boot options.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// ParseMode parses tx, tso or sink.
func ParseMode(s string) (Mode, error) {
	for m := ModeTx; m <= ModeSink; m++ {
		if s == m.String() {
			return m, nil
		}
	}
	return ModeOff, fmt.Errorf("unknown mode %q (want tx, tso or sink)", s)
}

// Counters are a NIC's running totals, of which pktgen reports the
// differences over each measurement.
type Counters struct {
	// Device says the device keeps statistics registers: without them
	// (virtio-net) the Dev fields mean nothing and are reported as -1.
	Device bool
	// DevTxFrames and DevTxBytes are the good packets and octets the
	// device transmitted (e1000 GPTC, GOTC: octets include the FCS);
	// DevRxFrames, DevRxBytes those it received (GPRC, GORC), and
	// DevRxMissed those it had no buffer for (MPC).
	DevTxFrames, DevTxBytes, DevRxFrames, DevRxBytes, DevRxMissed uint64
	// TxDrops and RxErrors are the driver's: frames Transmit consumed
	// without sending them, and received ones it did not deliver.
	TxDrops, RxErrors uint64
}

// sub returns the counts from old to c.
func (c Counters) sub(old Counters) Counters {
	return Counters{
		Device:      c.Device,
		DevTxFrames: c.DevTxFrames - old.DevTxFrames, DevTxBytes: c.DevTxBytes - old.DevTxBytes,
		DevRxFrames: c.DevRxFrames - old.DevRxFrames, DevRxBytes: c.DevRxBytes - old.DevRxBytes,
		DevRxMissed: c.DevRxMissed - old.DevRxMissed,
		TxDrops:     c.TxDrops - old.TxDrops, RxErrors: c.RxErrors - old.RxErrors,
	}
}

// dev is a device count as printed: -1 where the device keeps none.
func (c Counters) dev(v uint64) int64 {
	if !c.Device {
		return -1
	}
	return int64(v)
}

// Gen is a driver attached to the generator and the sink.
type Gen struct {
	d        Driver
	counters func() Counters
	// wake is poked by txReady and by carrier changes: a transmitter
	// waiting for ring space or for the link re-checks.
	wake chan struct{}

	sink sink
}

// New attaches d to a generator. counters reads the NIC's totals; nil
// means it has none to offer (every Dev figure -1, drops and errors 0).
// Attach before the driver's interrupt is hooked, as for a stack, so no
// upcall is missed.
func New(d Driver, counters func() Counters) *Gen {
	if counters == nil {
		counters = func() Counters { return Counters{} }
	}
	g := &Gen{d: d, counters: counters, wake: make(chan struct{}, 1)}
	g.sink.init()
	d.Attach(g.sink.receive, func(bool) { g.poke() }, g.poke)
	return g
}

// poke wakes a waiting transmitter without blocking the caller (an upcall
// from the poll loop or an interrupt).
func (g *Gen) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// ErrLinkDown is returned by Transmit when the carrier did not come up in
// time.
var ErrLinkDown = errors.New("pktgen: link down")

// waitLink waits up to limit for the carrier.
func (g *Gen) waitLink(limit time.Duration) error {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !g.d.LinkUp() {
		select {
		case <-g.wake:
		case <-deadline.C:
			return fmt.Errorf("%w after %v", ErrLinkDown, limit)
		}
	}
	return nil
}

// MergedIntervals counts sink intervals whose line could not be queued
// (the reporter far behind): their counts went to the next line.
func (g *Gen) MergedIntervals() uint64 { return g.sink.merged.Load() }
