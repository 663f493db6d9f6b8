package e1000

import (
	"encoding/binary"

	"tamanet/inet"
	"tamanet/txframe"
)

// Transmit offloads (3.5, 3.6). A packet that asks for a checksum or for TCP
// segmentation is described by TCP/IP data descriptors, preceded by a TCP/IP
// context descriptor that loads the offsets the device needs. The 82540EM
// holds one context: it stays loaded until the next context descriptor, so
// a checksum-only context is sent only when it differs from the last one.
// A segmentation context carries the packet's payload length and restarts
// the device's per-packet segment count, so every TSO packet gets its own.

// txFeatures are the offloads the driver asks of the device. TSO is IPv4
// only: the manual's IPv6 payload-length rule (3.5.9) counts the fixed
// header, and QEMU 7.2 implements it so, which makes every IPv6 segment 40
// bytes too long; Linux's e1000 driver does not offer TSO6 either.
const txFeatures = txframe.CsumTCPv4 | txframe.CsumTCPv6 | txframe.CsumUDPv4 | txframe.CsumUDPv6 | txframe.TSOv4

// Field limits of the context descriptor: byte-wide offsets and HDRLEN, a
// 20-bit PAYLEN.
const (
	maxCtxOffset = 0xFF
	maxPayLen    = TXD_DTALEN_MASK
	ipv4MinLen   = 20
	ipv6HdrLen   = 40
	tcpMinLen    = 20
	udpHdrLen    = 8
	// ipv4ChecksumOffset and the source address offsets inside the IP
	// headers, for the pseudo-header.
	ipv4ChecksumOffset = 10
	ipv4SrcOffset      = 12
	ipv6SrcOffset      = 8
	protoTCP           = 6
	protoUDP           = 17
	// tsoFIFOMargin: the device builds each segment in its transmit FIFO,
	// so MSS + HDRLEN must stay 80 bytes below the FIFO's size (3.3.6,
	// note 2). PBA leaves 16 KiB for transmit after reset.
	txFIFOSize    = 16 << 10
	tsoFIFOMargin = 80
	// maxTSOFrame is the largest segmentation request: an IPv4 packet is
	// at most 64 KiB.
	maxTSOFrame = ethHeaderLen + 0xFFFF
	// tsoHeaderMax is the device's on-chip buffer for the prototype
	// header of a segmentation context (3.5.9): HDRLEN may not exceed it
	// although its field could say 255.
	tsoHeaderMax = 240
)

// txContext is the content of a TCP/IP context descriptor.
type txContext struct {
	ipcss, ipcso, tucss, tucso uint8
	ipcse, tucse               uint16
	paylen                     uint32
	tucmd, hdrlen              uint8
	mss                        uint16
}

// txCtxCache is the context the device last loaded.
type txCtxCache struct {
	ctx   txContext
	valid bool
}

// txPlan is how one frame goes into the ring.
type txPlan struct {
	descs   int  // descriptors it takes, the context included
	ctx     bool // a context descriptor goes first
	ext     bool // TCP/IP data descriptors (else legacy)
	tso     bool
	inPlace bool // some parts go to the device in place (txref.go)
	hdr     int  // the headers prepareTSO rewrites, always copied
	popts   uint8
	segs    int // frames the device puts on the wire
	context txContext
}

// TxCapabilities reports the offloads Transmit accepts and the largest
// segmentation request the ring can take at once.
func (d *Device) TxCapabilities() txframe.Capabilities {
	return txframe.Capabilities{Features: txFeatures, TSOMaxSize: d.tsoMaxFrame()}
}

// tsoMaxFrame is the largest TSO frame: all but the one always-empty slot
// and the context descriptor's slot hold its data.
func (d *Device) tsoMaxFrame() int {
	return min((d.cfg.TxDescriptors-2)*txBufferSize, maxTSOFrame)
}

// dataDescs is how many buffers (one descriptor each) n bytes take.
func dataDescs(n int) int { return (n + txBufferSize - 1) / txBufferSize }

// planOffload checks an offload request against the frame's length n and
// the descriptor field limits and works out its context. It reports false
// for a request the device cannot carry out as asked.
func planOffload(o *txframe.Offload, n int) (txPlan, bool) {
	p := txPlan{ext: true, segs: 1, popts: TXD_POPTS_TXSM}
	l3, l4 := int(o.L3Start), int(o.L4Start)
	csum := o.ChecksumOffset()
	minL3, minL4 := ipv4MinLen, tcpMinLen
	if o.IPv6 {
		minL3 = ipv6HdrLen
	}
	if o.L4 == txframe.L4UDP {
		minL4 = udpHdrLen
	}
	if csum < 0 || l3 < ethHeaderLen || l4 < l3+minL3 || l4+minL4 > n || csum > maxCtxOffset {
		return p, false
	}
	c := &p.context
	c.tucss, c.tucso = uint8(l4), uint8(csum)
	if o.L4 == txframe.L4TCP {
		c.tucmd |= TXD_TUCMD_TCP
	}
	if !o.IPv6 {
		c.tucmd |= TXD_TUCMD_IP
	}
	if o.MSS == 0 {
		return p, true
	}
	// TCP segmentation over IPv4 (see txFeatures).
	hdr, mss := int(o.HeaderLen), int(o.MSS)
	if o.L4 != txframe.L4TCP || o.IPv6 || hdr < l4+tcpMinLen || hdr > tsoHeaderMax || hdr >= n ||
		n-hdr > maxPayLen || mss+hdr > txFIFOSize-tsoFIFOMargin {
		return p, false
	}
	p.tso = true
	p.popts |= TXD_POPTS_IXSM
	p.segs = (n - hdr + mss - 1) / mss
	c.ipcss, c.ipcso, c.ipcse = uint8(l3), uint8(l3+ipv4ChecksumOffset), uint16(l4-1)
	c.tucmd |= TXD_TUCMD_TSE
	c.paylen = uint32(n - hdr)
	c.hdrlen = uint8(hdr)
	c.mss = uint16(mss)
	return p, true
}

// prepareTSO rewrites the headers of a TSO frame, in the driver's copy, the
// way the device wants them (3.5.7, 3.5.8): the device adds each segment's
// TCP length to the pseudo-header sum in the checksum field, so the sum the
// stack left there (length included) is replaced by one without it, and the
// device sums the IPv4 header including its checksum field, which must
// therefore be zero.
func prepareTSO(hdr []byte, c *txContext) {
	ip := hdr[c.ipcss:]
	binary.BigEndian.PutUint16(ip[ipv4ChecksumOffset:], 0)
	s := inet.Sum(0, ip[ipv4SrcOffset:ipv4SrcOffset+8]) + protoTCP
	binary.BigEndian.PutUint16(hdr[c.tucso:], inet.Fold(s))
}
