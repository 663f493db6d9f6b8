package virtionet

import "strings"

// Feature bits of the network device (5.1.3) and the device-independent
// ones (6) the driver negotiates.
const (
	VIRTIO_NET_F_CSUM       = 0  // the device takes packets with partial checksums
	VIRTIO_NET_F_GUEST_CSUM = 1  // the driver takes packets with partial checksums
	VIRTIO_NET_F_MTU        = 3  // the device reports its maximum MTU
	VIRTIO_NET_F_MAC        = 5  // the device has a MAC address
	VIRTIO_NET_F_GUEST_TSO4 = 7  // the driver takes TSOv4 (large TCP/IPv4) packets
	VIRTIO_NET_F_GUEST_TSO6 = 8  // the driver takes TSOv6
	VIRTIO_NET_F_GUEST_ECN  = 9  // ... with ECN
	VIRTIO_NET_F_GUEST_UFO  = 10 // ... and UFO
	VIRTIO_NET_F_HOST_TSO4  = 11 // the device segments TCP/IPv4
	VIRTIO_NET_F_HOST_TSO6  = 12 // the device segments TCP/IPv6
	VIRTIO_NET_F_HOST_ECN   = 13
	VIRTIO_NET_F_HOST_UFO   = 14
	VIRTIO_NET_F_MRG_RXBUF  = 15 // a packet may span several receive buffers
	VIRTIO_NET_F_STATUS     = 16 // the configuration has a link status
	VIRTIO_NET_F_CTRL_VQ    = 17 // a control queue

	// Device-independent bits (6). The shared constants move to package
	// virtio with the transports; these say the same.
	VIRTIO_F_NOTIFY_ON_EMPTY = 24
	VIRTIO_F_ANY_LAYOUT      = 27 // legacy: header and packet in any descriptors
	VIRTIO_F_EVENT_IDX       = 29
	VIRTIO_F_VERSION_1       = 32
	VIRTIO_F_ACCESS_PLATFORM = 33
)

// Features is a set of feature bits.
type Features uint64

// Has reports whether bit is in f.
func (f Features) Has(bit uint) bool { return f&(1<<bit) != 0 }

// featureNames name the bits the driver knows, in the order String lists
// them.
var featureNames = []struct {
	bit  uint
	name string
}{
	{VIRTIO_F_VERSION_1, "VERSION_1"},
	{VIRTIO_NET_F_MAC, "MAC"},
	{VIRTIO_NET_F_STATUS, "STATUS"},
	{VIRTIO_NET_F_MTU, "MTU"},
	{VIRTIO_NET_F_CSUM, "CSUM"},
	{VIRTIO_NET_F_GUEST_CSUM, "GUEST_CSUM"},
	{VIRTIO_NET_F_HOST_TSO4, "HOST_TSO4"},
	{VIRTIO_NET_F_HOST_TSO6, "HOST_TSO6"},
	{VIRTIO_NET_F_GUEST_TSO4, "GUEST_TSO4"},
	{VIRTIO_NET_F_GUEST_TSO6, "GUEST_TSO6"},
	{VIRTIO_NET_F_GUEST_ECN, "GUEST_ECN"},
	{VIRTIO_NET_F_GUEST_UFO, "GUEST_UFO"},
	{VIRTIO_NET_F_HOST_ECN, "HOST_ECN"},
	{VIRTIO_NET_F_HOST_UFO, "HOST_UFO"},
	{VIRTIO_NET_F_MRG_RXBUF, "MRG_RXBUF"},
	{VIRTIO_NET_F_CTRL_VQ, "CTRL_VQ"},
	{VIRTIO_F_EVENT_IDX, "EVENT_IDX"},
	{VIRTIO_F_ANY_LAYOUT, "ANY_LAYOUT"},
	{VIRTIO_F_NOTIFY_ON_EMPTY, "NOTIFY_ON_EMPTY"},
	{VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM"},
}

// String lists the bits by name, space-separated; unknown bits are left
// out.
func (f Features) String() string {
	var b strings.Builder
	for _, n := range featureNames {
		if f.Has(n.bit) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// wanted is what the driver asks for under cfg, before the device's offer
// narrows it. Each feature depends only on what it needs (5.1.3.1):
// TSO on the checksum it implies, so switching CSUM off takes TSO with it.
func (cfg *Config) wanted() Features {
	var f Features
	set := func(bit uint, on bool) {
		if on {
			f |= 1 << bit
		}
	}
	set(VIRTIO_F_VERSION_1, true)
	set(VIRTIO_F_ANY_LAYOUT, true)
	set(VIRTIO_NET_F_MAC, true)
	set(VIRTIO_NET_F_STATUS, !cfg.NoStatus)
	set(VIRTIO_NET_F_MTU, true)
	set(VIRTIO_NET_F_CSUM, !cfg.NoCsum)
	set(VIRTIO_NET_F_GUEST_CSUM, !cfg.NoGuestCsum)
	set(VIRTIO_NET_F_HOST_TSO4, !cfg.NoCsum && !cfg.NoTSO)
	set(VIRTIO_NET_F_HOST_TSO6, !cfg.NoCsum && !cfg.NoTSO)
	set(VIRTIO_NET_F_GUEST_TSO4, !cfg.NoGuestCsum && !cfg.NoGuestTSO)
	set(VIRTIO_NET_F_GUEST_TSO6, !cfg.NoGuestCsum && !cfg.NoGuestTSO)
	set(VIRTIO_NET_F_MRG_RXBUF, !cfg.NoMrgRxBuf)
	set(VIRTIO_F_EVENT_IDX, !cfg.NoEventIdx)
	return f
}

// negotiate narrows want to what the device offers and drops the bits
// whose prerequisites fell away (5.1.3.1).
func negotiate(offer, want Features, legacy bool) Features {
	f := offer & want
	if legacy {
		f &^= 1 << VIRTIO_F_VERSION_1
	} else {
		f &^= 1 << VIRTIO_F_ANY_LAYOUT // implied by VERSION_1
	}
	if !f.Has(VIRTIO_NET_F_CSUM) {
		f &^= 1<<VIRTIO_NET_F_HOST_TSO4 | 1<<VIRTIO_NET_F_HOST_TSO6
	}
	if !f.Has(VIRTIO_NET_F_GUEST_CSUM) {
		f &^= 1<<VIRTIO_NET_F_GUEST_TSO4 | 1<<VIRTIO_NET_F_GUEST_TSO6
	}
	return f
}
