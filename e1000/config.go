package e1000

import (
	"fmt"
	"time"

	"tamanet/napi"
)

// Ring limits. A ring's byte length must be a multiple of 128 (RDLEN/TDLEN),
// that is a multiple of 8 descriptors.
const (
	DefaultRxDescriptors = 256
	// DefaultTxDescriptors holds 30 TSO frames of 64 KiB (34 descriptors
	// each, 2 KiB per buffer): a full ring is one doorbell per ~2 MB.
	DefaultTxDescriptors = 1024
	MinDescriptors       = 8
	MaxDescriptors       = 4096
)

// Frame sizes.
const (
	// MTU is the default largest IP payload per frame.
	MTU = 1500
	// MinMTU is the smallest MTU Config takes: IPv4's minimum (RFC 791).
	MinMTU = 68
	// MaxMTU is the largest: a transmit packet is at most 16288 bytes,
	// header included (3.3.3); received frames may reach 16384 with
	// RCTL.LPE (13.7.15).
	MaxMTU = maxTxPacket - ethHeaderLen
	// MaxFrame is the largest frame Transmit accepts at the default MTU:
	// header plus MTU, no FCS.
	MaxFrame = ethHeaderLen + MTU
	// RxBufferSize is the size of each receive buffer at the default MTU
	// (RCTL.BSIZE = 2048); a larger MTU takes 4, 8 or 16 KiB buffers.
	RxBufferSize = 2048

	ethHeaderLen = 14
	// vlanTagLen and fcsLen size a frame on the wire beyond its header
	// and payload.
	vlanTagLen = 4
	fcsLen     = 4
	// maxRxFrameNoLPE is the longest frame the device delivers with
	// RCTL.LPE clear and the CRC stripped: 1518 plus a VLAN tag, minus
	// the FCS.
	maxRxFrameNoLPE = 1522 - fcsLen
	maxTxPacket     = 16288
	// txBufferSize is the per-slot transmit buffer.
	txBufferSize = 2048
)

// rxBufferSizes are the receive buffer sizes RCTL.BSIZE and BSEX select
// (13.4.22), smallest first, with their bits.
var rxBufferSizes = []struct {
	size int
	rctl uint32
}{
	{2048, RCTL_BSIZE_2048},
	{4096, RCTL_BSEX | RCTL_BSIZE_4096_BSEX},
	{8192, RCTL_BSEX | RCTL_BSIZE_8192_BSEX},
	{16384, RCTL_BSEX | RCTL_BSIZE_16384_BSEX},
}

// DefaultTxTimeout is how long transmit descriptors may stay outstanding
// without any completing before the watchdog resets the device.
const DefaultTxTimeout = 2 * time.Second

// Mitigation holds the interrupt moderation timers. Each is rounded down to
// the register's unit and capped at its 16-bit field; zero disables it.
type Mitigation struct {
	// ITR is the minimum interval between interrupts (register unit 256 ns).
	ITR time.Duration
	// RDTR delays the receive interrupt after each frame, restarting on
	// every frame (packet timer, unit 1.024 µs).
	RDTR time.Duration
	// RADV caps the delay RDTR can add after the first frame (absolute
	// timer, unit 1.024 µs; only effective when RDTR is nonzero).
	RADV time.Duration
	// TIDV delays the transmit write-back interrupt (unit 1.024 µs). When
	// nonzero the driver sets IDE in every transmit descriptor.
	TIDV time.Duration
	// TADV caps the delay TIDV can add (unit 1.024 µs).
	TADV time.Duration
}

// DefaultMitigation favours latency: no receive delay, interrupts limited to
// 20000 a second by ITR, transmit completions batched for up to 33 µs.
var DefaultMitigation = Mitigation{
	ITR:  50 * time.Microsecond,
	TIDV: 8 * time.Microsecond,
	TADV: 32 * time.Microsecond,
}

// Register units of the moderation timers.
const (
	itrUnit   = 256 * time.Nanosecond
	delayUnit = 1024 * time.Nanosecond
)

// regValue converts d to a 16-bit register count of unit.
func regValue(d, unit time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min(d/unit, 0xFFFF))
}

// Config configures a Device. The zero value gives the defaults.
type Config struct {
	// RxDescriptors and TxDescriptors size the rings: multiples of 8 in
	// [MinDescriptors, MaxDescriptors]; zero means the default (256).
	RxDescriptors int
	TxDescriptors int
	// Mitigation sets the interrupt moderation timers; nil means
	// DefaultMitigation and a pointer to the zero value turns them all off.
	Mitigation *Mitigation
	// TxTimeout is how long transmit work may stay outstanding without any
	// completion before Watchdog resets the device; zero means
	// DefaultTxTimeout.
	TxTimeout time.Duration
	// Clock returns the current time for the watchdog; nil means time.Now.
	Clock func() time.Time
	// Sleep waits during a reset (for DMA to drain, for CTRL.RST and the
	// EEPROM auto-read to complete); nil means time.Sleep. Tests pass one
	// that moves a device model's clock.
	Sleep func(time.Duration)
	// MTU is the largest IP payload per frame, in [MinMTU, MaxMTU]; zero
	// means MTU (1500). Above 1500 the receiver takes long packets
	// (RCTL.LPE) into buffers large enough for a whole frame.
	MTU int
	// NAPI configures the poll engine.
	NAPI napi.Config
	// Event, if set, hears the device's milestones as they happen (the
	// unikernel logs boot phases with it). It runs on the goroutine that
	// caused the event, possibly the poll loop, so it must be quick and
	// must not call back into the Device.
	Event func(Event)
}

// Event is a milestone of the device, reported through Config.Event.
type Event uint8

// Events.
const (
	// EventReset: a global reset (CTRL.RST) completed.
	EventReset Event = iota + 1
	// EventRxEnabled: RCTL was written with EN set. QEMU's e1000 still
	// holds received frames back for a second after any RCTL write.
	EventRxEnabled
	// EventFirstFrame: the first good frame was handed to the stack
	// (once per Device).
	EventFirstFrame
)

// String names the event.
func (e Event) String() string {
	switch e {
	case EventReset:
		return "reset"
	case EventRxEnabled:
		return "receive enabled"
	case EventFirstFrame:
		return "first frame"
	}
	return fmt.Sprintf("Event(%d)", uint8(e))
}

// withDefaults validates cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.RxDescriptors == 0 {
		cfg.RxDescriptors = DefaultRxDescriptors
	}
	if cfg.TxDescriptors == 0 {
		cfg.TxDescriptors = DefaultTxDescriptors
	}
	for _, n := range []int{cfg.RxDescriptors, cfg.TxDescriptors} {
		if n < MinDescriptors || n > MaxDescriptors || n%8 != 0 {
			return cfg, fmt.Errorf("%w: ring of %d descriptors (want a multiple of 8 in [%d, %d])",
				ErrConfig, n, MinDescriptors, MaxDescriptors)
		}
	}
	if cfg.MTU == 0 {
		cfg.MTU = MTU
	}
	if cfg.MTU < MinMTU || cfg.MTU > MaxMTU {
		return cfg, fmt.Errorf("%w: MTU %d outside [%d, %d]", ErrConfig, cfg.MTU, MinMTU, MaxMTU)
	}
	if cfg.Mitigation == nil {
		m := DefaultMitigation
		cfg.Mitigation = &m
	}
	if cfg.TxTimeout < 0 {
		return cfg, fmt.Errorf("%w: negative TxTimeout %v", ErrConfig, cfg.TxTimeout)
	}
	if cfg.TxTimeout == 0 {
		cfg.TxTimeout = DefaultTxTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = time.Sleep
	}
	return cfg, nil
}

// rxBuffers picks the receive buffer for mtu: the smallest that holds a
// whole frame (VLAN tag and FCS included, so nothing spills into a second
// buffer), its RCTL bits, and the longest frame the driver then delivers.
func rxBuffers(mtu int) (size int, rctl uint32, maxFrame int) {
	need := ethHeaderLen + vlanTagLen + mtu + fcsLen
	b := rxBufferSizes[len(rxBufferSizes)-1]
	for _, c := range rxBufferSizes {
		if c.size >= need {
			b = c
			break
		}
	}
	maxFrame = maxRxFrameNoLPE
	if mtu > MTU {
		b.rctl |= RCTL_LPE
		maxFrame = need - fcsLen
	}
	return b.size, b.rctl, maxFrame
}
