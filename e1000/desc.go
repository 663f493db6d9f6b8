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

func (d txDesc) length() uint16 { return binary.LittleEndian.Uint16(d[TXD_LENGTH:]) }

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

// clear zeroes the descriptor (ring reset).
func (d txDesc) clear() { clear(d) }
