package virtio

// Transport is how a driver reaches a virtio device's common part, whatever
// carries it: the modern PCI capabilities (4.1.4), virtio-mmio (4.2) or the
// legacy PCI register block (4.1.4.8). Device drivers (virtio/rng,
// virtio/net) and virtqueues are written against it only, so one driver
// serves a device on any transport, and host tests put a device model
// behind it.
//
// A Transport is not safe for concurrent use except where a method says
// so: the driver serialises configuration, and only Notify and
// AckInterrupt run on hot paths.
type Transport interface {
	// Name says which transport this is, for the console ("pci-modern",
	// "pci-legacy", "mmio-v2", "mmio-v1").
	Name() string
	// Legacy reports a legacy (pre-1.0) interface: 32 feature bits, no
	// FEATURES_OK, guest-endian fields, and queues whose size the device
	// fixes and whose rings must be laid out as in 2.7.2 (see LegacyRing).
	Legacy() bool

	// Reset writes 0 to device status and waits, with a bound, until the
	// device reads back 0 (4.1.4.3.2, 4.2.2.1).
	Reset() error
	// Status reads device status; SetStatus writes it.
	Status() uint8
	SetStatus(s uint8)
	// DeviceFeatures returns every feature bit the device offers (legacy:
	// bits 0-31 only); SetDriverFeatures writes the driver's choice.
	DeviceFeatures() uint64
	SetDriverFeatures(f uint64)

	// ReadConfig fills p from device-specific configuration at off,
	// consistently (re-read while config_generation changes, 4.1.4.3.1).
	// WriteConfig writes p there.
	ReadConfig(off int, p []byte)
	WriteConfig(off int, p []byte)

	// QueueMax returns the largest size queue q may have, 0 if there is no
	// such queue (legacy: the one size it has).
	QueueMax(q uint16) uint16
	// SetupQueue gives the device queue q's size and ring addresses,
	// assigns it MSI-X vector (NoVector without MSI-X) and enables it.
	SetupQueue(q uint16, size uint16, r RingAddrs, vector uint16) error
	// SetConfigVector assigns the configuration-change interrupt an MSI-X
	// vector (NoVector: none).
	SetConfigVector(vector uint16) error
	// Notify tells the device queue q has new available buffers (4.1.4.4,
	// 4.2.2). Safe to call concurrently for different queues.
	Notify(q uint16)
	// AckInterrupt reads and acknowledges the interrupt status (the ISR
	// bits, 4.1.4.5; InterruptStatus/InterruptACK, 4.2.2): bit 0 a used
	// buffer, bit 1 a configuration change. Only meaningful without MSI-X.
	AckInterrupt() uint8
}

// RingAddrs are the bus addresses of one split virtqueue's three parts.
type RingAddrs struct {
	Desc, Avail, Used uint64
}

// NoVector is "no MSI-X vector" (VIRTIO_MSI_NO_VECTOR, 4.1.4.3).
const NoVector = 0xFFFF

// Interrupt status bits (4.1.4.5).
const (
	ISRQueue  = 1 // a used buffer notification
	ISRConfig = 2 // a configuration change
)
