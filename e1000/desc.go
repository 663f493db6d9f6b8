package e1000

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// Legacy receive descriptor (3.2.3): 16 bytes, little endian. The driver
// writes the buffer address; the device writes back the rest.
const (
	RxDescSize = 16

	RXD_ADDR    = 0  // buffer address, u64
	RXD_LENGTH  = 8  // bytes written to the buffer, u16
	RXD_CSUM    = 10 // packet checksum, u16
	RXD_STATUS  = 12 // u8
	RXD_ERRORS  = 13 // u8
	RXD_SPECIAL = 14 // u16
)

// Receive descriptor status bits (3.2.3.1).
const (
	RXD_STAT_DD    = 1 << 0 // Descriptor Done
	RXD_STAT_EOP   = 1 << 1 // End of Packet
	RXD_STAT_IXSM  = 1 << 2 // Ignore Checksum Indication
	RXD_STAT_TCPCS = 1 << 5 // TCP/UDP Checksum Calculated
	RXD_STAT_IPCS  = 1 << 6 // IP Checksum Calculated
)

// Receive descriptor error bits (3.2.3.2).
const (
	RXD_ERR_CE   = 1 << 0 // CRC or Alignment Error
	RXD_ERR_SE   = 1 << 1 // Symbol Error
	RXD_ERR_SEQ  = 1 << 2 // Sequence Error
	RXD_ERR_CXE  = 1 << 4 // Carrier Extension Error
	RXD_ERR_TCPE = 1 << 5 // TCP/UDP Checksum Error
	RXD_ERR_IPE  = 1 << 6 // IP Checksum Error
	RXD_ERR_RXE  = 1 << 7 // RX Data Error

	// rxdErrFrame are the errors that make the frame itself bad (bit 3 is
	// reserved and treated as bad too). TCPE and IPE only say a checksum
	// did not verify: the frame is delivered and the stack checks it.
	rxdErrFrame = ^uint8(RXD_ERR_TCPE | RXD_ERR_IPE)
)

// Legacy transmit descriptor (3.3.3): 16 bytes, little endian.
const (
	TxDescSize = 16

	TXD_ADDR    = 0  // buffer address, u64
	TXD_LENGTH  = 8  // u16
	TXD_CSO     = 10 // Checksum Offset, u8
	TXD_CMD     = 11 // u8
	TXD_STATUS  = 12 // u8, STA in bits 3:0
	TXD_CSS     = 13 // Checksum Start Field, u8
	TXD_SPECIAL = 14 // u16
)

// Transmit descriptor command bits (3.3.3.1).
const (
	TXD_CMD_EOP  = 1 << 0 // End Of Packet
	TXD_CMD_IFCS = 1 << 1 // Insert FCS
	TXD_CMD_IC   = 1 << 2 // Insert Checksum
	TXD_CMD_RS   = 1 << 3 // Report Status
	TXD_CMD_DEXT = 1 << 5 // Extension (0 = legacy)
	TXD_CMD_VLE  = 1 << 6 // VLAN Packet Enable
	TXD_CMD_IDE  = 1 << 7 // Interrupt Delay Enable
)

// Transmit descriptor status bits (3.3.3.2).
const (
	TXD_STAT_DD = 1 << 0 // Descriptor Done
)

// statusWord is the offset of the aligned 32-bit word that ends every
// descriptor: status, errors (receive) or CSS (transmit), special. The
// device's write-back sets DD in it.
const statusWord = 12

// loadStatusWord reads a descriptor's status word with one atomic load and
// returns its bytes in memory order. This is the driver's dma_rmb(): Linux
// reads the status, issues dma_rmb() and only then reads the length and
// the buffer. On x86 the CPU keeps loads from ordinary memory in order, so
// what remains is the compiler, and Go lets the compiler move a plain load
// before an earlier plain load whatever branch sits between them; it never
// moves a load before an atomic load. The load also takes status and errors
// from the same write-back. Rings are 16-byte aligned, so the word is
// aligned.
func loadStatusWord(desc []byte) [4]byte {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], atomic.LoadUint32((*uint32)(unsafe.Pointer(&desc[statusWord]))))
	return b
}

// TCP/IP context descriptor (3.3.6): DEXT set, DTYP 0000b. It carries no
// data; it loads the checksum and segmentation parameters used by the
// TCP/IP data descriptors that follow.
const (
	TXD_CTX_IPCSS  = 0  // IP checksum start, u8
	TXD_CTX_IPCSO  = 1  // IP checksum offset, u8
	TXD_CTX_IPCSE  = 2  // IP checksum end, inclusive (0 = end of packet), u16
	TXD_CTX_TUCSS  = 4  // TCP/UDP checksum start, u8
	TXD_CTX_TUCSO  = 5  // TCP/UDP checksum offset, u8
	TXD_CTX_TUCSE  = 6  // TCP/UDP checksum end, inclusive (0 = end of packet), u16
	TXD_CTX_PAYLEN = 8  // TSO payload bytes, bits 19:0 of the dword (DTYP in 23:20)
	TXD_CTX_TUCMD  = 11 // command, u8
	TXD_CTX_STA    = 12 // status in bits 3:0, u8
	TXD_CTX_HDRLEN = 13 // TSO header length, u8
	TXD_CTX_MSS    = 14 // TSO maximum segment size, u16
)

// TCP/IP data descriptor (3.3.7): DEXT set, DTYP 0001b. DTALEN is bits 19:0
// of the dword at TXD_LENGTH, DTYP bits 23:20; the command byte (DCMD) sits
// where the legacy CMD does.
const (
	TXD_POPTS = 13 // packet options, u8 (where the legacy CSS sits)

	TXD_DTYP_SHIFT   = 20 // in the dword at TXD_LENGTH
	TXD_DTYP_CONTEXT = 0  // TCP/IP context descriptor
	TXD_DTYP_DATA    = 1  // TCP/IP data descriptor
	TXD_DTALEN_MASK  = 1<<20 - 1
)

// TUCMD bits of a context descriptor (3.3.6.1).
const (
	TXD_TUCMD_TCP  = 1 << 0 // TCP (else UDP)
	TXD_TUCMD_IP   = 1 << 1 // IPv4 (else IPv6)
	TXD_TUCMD_TSE  = 1 << 2 // TCP Segmentation Enable
	TXD_TUCMD_RS   = 1 << 3 // Report Status
	TXD_TUCMD_DEXT = 1 << 5 // Extension (1b for a context descriptor)
	TXD_TUCMD_IDE  = 1 << 7 // Interrupt Delay Enable
)

// DCMD bits of a data descriptor (3.3.7.1): those of the legacy CMD, with
// TSE where the legacy IC is.
const (
	TXD_DCMD_TSE = 1 << 2 // part of the current TCP segmentation context
)

// POPTS bits of a data descriptor (3.3.7.1), valid in a packet's first one.
const (
	TXD_POPTS_IXSM = 1 << 0 // Insert IP checksum
	TXD_POPTS_TXSM = 1 << 1 // Insert TCP/UDP checksum
)

// rxDesc is one receive descriptor in DMA memory.
type rxDesc []byte

// rxDescAt returns descriptor i of ring.
func rxDescAt(ring []byte, i int) rxDesc {
	return rxDesc(ring[i*RxDescSize : (i+1)*RxDescSize : (i+1)*RxDescSize])
}

// writeBack returns the status and errors the device wrote back, from one
// atomic load of the status word (see loadStatusWord). Read it before any
// other field of the descriptor.
func (d rxDesc) writeBack() (status, errors uint8) {
	w := loadStatusWord(d)
	return w[RXD_STATUS-statusWord], w[RXD_ERRORS-statusWord]
}

// length is the written-back frame length; valid only after writeBack saw DD.
func (d rxDesc) length() uint16 { return binary.LittleEndian.Uint16(d[RXD_LENGTH:]) }

// post hands the descriptor to the device with buffer addr: the write-back
// fields are zeroed so a stale DD bit is never mistaken for a new frame.
// The address is rewritten every time so a descriptor the device (or a bug)
// scribbled on heals on its next use.
func (d rxDesc) post(addr uint64) {
	binary.LittleEndian.PutUint64(d[RXD_ADDR:], addr)
	binary.LittleEndian.PutUint64(d[RXD_LENGTH:], 0)
}

// txDesc is one transmit descriptor in DMA memory.
type txDesc []byte

// txDescAt returns descriptor i of ring.
func txDescAt(ring []byte, i int) txDesc {
	return txDesc(ring[i*TxDescSize : (i+1)*TxDescSize : (i+1)*TxDescSize])
}

// writeBack returns the status the device wrote back, from one atomic load
// of the status word (see loadStatusWord).
func (d txDesc) writeBack() (status uint8) { return loadStatusWord(d)[TXD_STATUS-statusWord] }

// set fills a legacy data descriptor for a buffer of n bytes at addr and
// clears its status, so DD is only ever set by the device.
func (d txDesc) set(addr uint64, n int, cmd uint8) {
	binary.LittleEndian.PutUint64(d[TXD_ADDR:], addr)
	binary.LittleEndian.PutUint16(d[TXD_LENGTH:], uint16(n))
	d[TXD_CSO] = 0
	d[TXD_CMD] = cmd
	d[TXD_STATUS] = 0
	d[TXD_CSS] = 0
	binary.LittleEndian.PutUint16(d[TXD_SPECIAL:], 0)
}

// setData fills a TCP/IP data descriptor (3.3.7) for n bytes at addr and
// clears its status; popts matters only in a packet's first descriptor.
func (d txDesc) setData(addr uint64, n int, dcmd, popts uint8) {
	binary.LittleEndian.PutUint64(d[TXD_ADDR:], addr)
	binary.LittleEndian.PutUint32(d[TXD_LENGTH:], uint32(n)&TXD_DTALEN_MASK|TXD_DTYP_DATA<<TXD_DTYP_SHIFT)
	d[TXD_CMD] = dcmd | TXD_CMD_DEXT
	d[TXD_STATUS] = 0
	d[TXD_POPTS] = popts
	binary.LittleEndian.PutUint16(d[TXD_SPECIAL:], 0)
}

// setContext writes a TCP/IP context descriptor (3.3.6) with its status
// cleared.
func (d txDesc) setContext(c *txContext) {
	d[TXD_CTX_IPCSS] = c.ipcss
	d[TXD_CTX_IPCSO] = c.ipcso
	binary.LittleEndian.PutUint16(d[TXD_CTX_IPCSE:], c.ipcse)
	d[TXD_CTX_TUCSS] = c.tucss
	d[TXD_CTX_TUCSO] = c.tucso
	binary.LittleEndian.PutUint16(d[TXD_CTX_TUCSE:], c.tucse)
	binary.LittleEndian.PutUint32(d[TXD_CTX_PAYLEN:], c.paylen&TXD_DTALEN_MASK|TXD_DTYP_CONTEXT<<TXD_DTYP_SHIFT)
	d[TXD_CTX_TUCMD] = c.tucmd | TXD_TUCMD_DEXT
	d[TXD_CTX_STA] = 0
	d[TXD_CTX_HDRLEN] = c.hdrlen
	binary.LittleEndian.PutUint16(d[TXD_CTX_MSS:], c.mss)
}

// clear zeroes the descriptor (ring reset).
func (d txDesc) clear() { clear(d) }
