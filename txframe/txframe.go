// Package txframe is the contract between a network stack and a NIC driver for
// outgoing Ethernet frames: the frame's bytes, which may arrive in several
// pieces, and the work the stack leaves for the device to finish (TCP/UDP
// checksum insertion, TCP segmentation). It plays the part of the offload
// fields of Linux's sk_buff (csum_start, csum_offset, gso_size) and of its
// netdev feature bits, and imports nothing, so netif and the drivers share
// it without depending on each other.
package txframe

// Frame is one outgoing Ethernet frame, header first, without FCS. With TCP
// segmentation requested it is one large TCP packet that the device cuts
// into several frames on the wire.
type Frame struct {
	// Parts hold the frame's bytes in order. Without Hold a driver copies
	// them and keeps no reference after Transmit returns.
	Parts [][]byte
	// Offload is the work left to the device; the zero value asks for none.
	Offload Offload
	// Hold, if not nil, says every part stays valid and unchanged until
	// the driver calls Hold.Release, so the device may read the parts in
	// place instead of from a copy. A driver that consumes the frame
	// (counts it in Transmit's result: queued or dropped) calls Release
	// exactly once: when the device has finished with every descriptor
	// of the frame, or when the frame is dropped, at once or by a reset.
	// A frame Transmit did not consume stays its sender's to release.
	Hold Releaser
}

// Releaser ends a Frame's hold on its parts. It is an interface so the
// stack can pass a pointer it already has (its packet) without allocating.
type Releaser interface {
	Release()
}

// Release ends hold h, if there is one, and counts it in *released: what a
// driver does when the device no longer needs a frame's parts.
func Release(h Releaser, released *uint64) {
	if h != nil {
		*released++
		h.Release()
	}
}

// Len is the frame's length in bytes.
func (f *Frame) Len() int {
	n := 0
	for _, p := range f.Parts {
		n += len(p)
	}
	return n
}

// L4 names the transport protocol whose checksum the device inserts.
type L4 uint8

const (
	// L4None asks for no checksum.
	L4None L4 = iota
	// L4TCP asks for the TCP checksum (at L4Start+16).
	L4TCP
	// L4UDP asks for the UDP checksum (at L4Start+6).
	L4UDP
)

// Checksum field offsets within the transport header.
const (
	TCPChecksumOffset = 16
	UDPChecksumOffset = 6
)

// Offload describes a frame whose transport checksum, and optionally whose
// segmentation, the device is asked to do. As with Linux's CHECKSUM_PARTIAL,
// the stack has stored in the checksum field the folded (not complemented)
// one's complement sum of the pseudo-header, transport length included; the
// device sums from L4Start to the end of the frame (each segment's end, when
// segmenting) and stores the complement. A driver whose device wants the
// pseudo-header in another form (the 8254x's TSO wants it without the length)
// rewrites it in its own copy of the frame.
type Offload struct {
	// L4 selects the checksum; L4None means no offload at all.
	L4 L4
	// IPv6 says the network header is IPv6; otherwise it is IPv4.
	IPv6 bool
	// L3Start and L4Start are the offsets of the IP and transport headers
	// in the frame.
	L3Start, L4Start uint16
	// MSS, when nonzero, asks for TCP segmentation: the payload after
	// HeaderLen is cut into MSS-byte pieces, each sent behind a copy of the
	// headers with the IP length, IPv4 identification, TCP sequence number
	// and flags (FIN and PSH only on the last piece) and both checksums
	// fixed up. The IPv4 header checksum is the device's to compute.
	MSS uint16
	// HeaderLen is the length of the headers repeated in every segment:
	// L4Start plus the TCP header with its options. Used with MSS only.
	HeaderLen uint16
}

// ChecksumOffset is the offset in the frame of the checksum field the
// offload fills, or -1 for none.
func (o *Offload) ChecksumOffset() int {
	switch o.L4 {
	case L4TCP:
		return int(o.L4Start) + TCPChecksumOffset
	case L4UDP:
		return int(o.L4Start) + UDPChecksumOffset
	}
	return -1
}

// Features are the offloads a driver's device performs.
type Features uint32

const (
	// CsumTCPv4 etc.: the device inserts that transport checksum.
	CsumTCPv4 Features = 1 << iota
	CsumTCPv6
	CsumUDPv4
	CsumUDPv6
	// TSOv4 and TSOv6: the device segments TCP over that IP version.
	TSOv4
	TSOv6
)

// Has reports whether every feature in want is in f.
func (f Features) Has(want Features) bool { return f&want == want }

// Capabilities are what a driver offers for outgoing frames.
type Capabilities struct {
	// Features are the offloads the device performs.
	Features Features
	// TSOMaxSize is the largest segmentation request, headers included,
	// the driver accepts (it depends on its ring); zero without TSO.
	TSOMaxSize int
}
