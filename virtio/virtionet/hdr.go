package virtionet

import "encoding/binary"

// Device configuration layout (5.1.4).
const (
	configMAC    = 0  // mac[6]
	configStatus = 6  // le16, with VIRTIO_NET_F_STATUS
	configMTU    = 10 // le16, with VIRTIO_NET_F_MTU

	VIRTIO_NET_S_LINK_UP  = 1
	VIRTIO_NET_S_ANNOUNCE = 2
)

// Queues (5.1.2): receiveq1 and transmitq1, without multiqueue.
const (
	rxQueue = 0
	txQueue = 1
)

// struct virtio_net_hdr (5.1.6): flags, gso_type, hdr_len, gso_size,
// csum_start, csum_offset, then num_buffers with VERSION_1 or MRG_RXBUF.
const (
	VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
	VIRTIO_NET_HDR_F_DATA_VALID = 2
	VIRTIO_NET_HDR_F_RSC_INFO   = 4

	VIRTIO_NET_HDR_GSO_NONE  = 0
	VIRTIO_NET_HDR_GSO_TCPV4 = 1
	VIRTIO_NET_HDR_GSO_UDP   = 3
	VIRTIO_NET_HDR_GSO_TCPV6 = 4
	VIRTIO_NET_HDR_GSO_ECN   = 0x80

	// HeaderLen is the header with num_buffers, LegacyHeaderLen without.
	HeaderLen       = 12
	LegacyHeaderLen = 10
)

// Header is struct virtio_net_hdr.
type Header struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
	NumBuffers uint16 // only in a 12-byte header
}

// headerLen is the header the negotiated features call for (5.1.6).
func headerLen(f Features) int {
	if f.Has(VIRTIO_F_VERSION_1) || f.Has(VIRTIO_NET_F_MRG_RXBUF) {
		return HeaderLen
	}
	return LegacyHeaderLen
}

// Put writes h into b, which holds at least the header's length n.
func (h *Header) Put(b []byte, n int) {
	b[0], b[1] = h.Flags, h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
	if n >= HeaderLen {
		binary.LittleEndian.PutUint16(b[10:], h.NumBuffers)
	}
}

// ParseHeader reads a header of length n from b (len(b) >= n). A 10-byte
// header has NumBuffers 1.
func ParseHeader(b []byte, n int) Header {
	h := Header{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.LittleEndian.Uint16(b[2:]),
		GSOSize:    binary.LittleEndian.Uint16(b[4:]),
		CsumStart:  binary.LittleEndian.Uint16(b[6:]),
		CsumOffset: binary.LittleEndian.Uint16(b[8:]),
		NumBuffers: 1,
	}
	if n >= HeaderLen {
		h.NumBuffers = binary.LittleEndian.Uint16(b[10:])
	}
	return h
}
