package virtionet

import (
	"fmt"
	"time"

	"tamanet/napi"
)

// Defaults and limits.
const (
	// DefaultQueueSize is the receive and transmit queue size asked of a
	// modern device (QEMU's default and, for transmit, its limit with
	// user-space backends); a legacy device fixes its own.
	DefaultQueueSize = 256
	// DefaultBigBuffers is the number of 64 KiB receive buffers posted
	// when the device may send large (GUEST_TSO) packets without
	// MRG_RXBUF: each takes one descriptor, so this bounds memory, not
	// the queue.
	DefaultBigBuffers = 64
	// MTU is the default largest IP payload per frame; MinMTU and MaxMTU
	// bound Config.MTU.
	MTU    = 1500
	MinMTU = 68
	MaxMTU = 65535 - ethHeaderLen - vlanTagLen
	// DefaultTxTimeout is how long transmit chains may stay with the
	// device with none completing before the watchdog resets it.
	DefaultTxTimeout = 2 * time.Second

	ethHeaderLen = 14
	vlanTagLen   = 4
	// pageSize is the receive buffer with MRG_RXBUF (Linux's choice too)
	// and the transmit buffer per descriptor.
	pageSize = 4096
	// maxPacket is the largest frame the driver receives or sends: an IP
	// packet's 64 KiB behind an Ethernet header and a VLAN tag.
	maxPacket = ethHeaderLen + vlanTagLen + 65535
)

// Config configures a Device. The zero value negotiates every feature the
// driver knows that the device offers, with the defaults.
type Config struct {
	// RxQueueSize and TxQueueSize size the queues on a modern device: a
	// power of 2, at most the device's maximum; zero means
	// DefaultQueueSize (or the device's maximum if smaller).
	RxQueueSize, TxQueueSize int
	// BigBuffers is the number of large receive buffers (see
	// DefaultBigBuffers); zero means the default.
	BigBuffers int
	// MTU is the largest IP payload per frame; zero means MTU. With
	// VIRTIO_NET_F_MTU it is capped at the device's.
	MTU int
	// MAC, if nonzero, is the station address to use instead of the
	// device's (a device without VIRTIO_NET_F_MAC needs one: else a
	// locally administered address is made up).
	MAC [6]byte

	// Feature switches, for A/B measurements and boot options: each turns
	// off one feature even if the device offers it. NoCsum also turns
	// off TSO, NoGuestCsum the receive of large packets.
	NoCsum, NoGuestCsum, NoTSO, NoGuestTSO, NoMrgRxBuf, NoEventIdx, NoStatus bool

	// MSIX assigns MSI-X vectors: 0 for configuration changes, 1 for the
	// receive queue, 2 for the transmit queue. The caller programs the
	// table and routes them to HandleConfigInterrupt and
	// HandleQueueInterrupt. Without it the device interrupts on its one
	// line, served by HandleInterrupt.
	MSIX bool

	// TxTimeout is how long transmit work may stay outstanding without
	// completions before Watchdog resets the device; zero means
	// DefaultTxTimeout.
	TxTimeout time.Duration
	// Clock returns the time for the watchdog; nil means time.Now.
	Clock func() time.Time
	// NAPI configures the poll engine.
	NAPI napi.Config
}

// MSI-X vector numbers with Config.MSIX.
const (
	VectorConfig = 0
	VectorRx     = 1
	VectorTx     = 2
)

// withDefaults validates cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.RxQueueSize == 0 {
		cfg.RxQueueSize = DefaultQueueSize
	}
	if cfg.TxQueueSize == 0 {
		cfg.TxQueueSize = DefaultQueueSize
	}
	for _, n := range []int{cfg.RxQueueSize, cfg.TxQueueSize} {
		if n < 2 || n > 32768 || n&(n-1) != 0 {
			return cfg, fmt.Errorf("%w: queue of %d entries (a power of 2 in [2, 32768])", ErrConfig, n)
		}
	}
	if cfg.BigBuffers == 0 {
		cfg.BigBuffers = DefaultBigBuffers
	}
	if cfg.BigBuffers < 1 {
		return cfg, fmt.Errorf("%w: %d big buffers", ErrConfig, cfg.BigBuffers)
	}
	if cfg.MTU == 0 {
		cfg.MTU = MTU
	}
	if cfg.MTU < MinMTU || cfg.MTU > MaxMTU {
		return cfg, fmt.Errorf("%w: MTU %d outside [%d, %d]", ErrConfig, cfg.MTU, MinMTU, MaxMTU)
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
	return cfg, nil
}
