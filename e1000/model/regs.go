package model

// Register offsets in BAR0 (manual 13.4 and 13.5), named as in
// the manual.
const (
	CTRL     = 0x0000 // Device Control
	STATUS   = 0x0008 // Device Status
	EECD     = 0x0010 // EEPROM/Flash Control
	EERD     = 0x0014 // EEPROM Read
	CTRL_EXT = 0x0018 // Extended Device Control
	MDIC     = 0x0020 // MDI Control
	FCAL     = 0x0028 // Flow Control Address Low
	FCAH     = 0x002C // Flow Control Address High
	FCT      = 0x0030 // Flow Control Type
	VET      = 0x0038 // VLAN Ether Type
	ICR      = 0x00C0 // Interrupt Cause Read
	ITR      = 0x00C4 // Interrupt Throttling
	ICS      = 0x00C8 // Interrupt Cause Set
	IMS      = 0x00D0 // Interrupt Mask Set/Read
	IMC      = 0x00D8 // Interrupt Mask Clear
	RCTL     = 0x0100 // Receive Control
	FCTTV    = 0x0170 // Flow Control Transmit Timer Value
	TXCW     = 0x0178 // Transmit Configuration Word
	TCTL     = 0x0400 // Transmit Control
	TIPG     = 0x0410 // Transmit IPG
	LEDCTL   = 0x0E00 // LED Control
	PBA      = 0x1000 // Packet Buffer Allocation
	RDBAL    = 0x2800 // Receive Descriptor Base Address Low
	RDBAH    = 0x2804 // Receive Descriptor Base Address High
	RDLEN    = 0x2808 // Receive Descriptor Length
	RDH      = 0x2810 // Receive Descriptor Head
	RDT      = 0x2818 // Receive Descriptor Tail
	RDTR     = 0x2820 // Receive Delay Timer
	RXDCTL   = 0x2828 // Receive Descriptor Control
	RADV     = 0x282C // Receive Interrupt Absolute Delay Timer
	TDBAL    = 0x3800 // Transmit Descriptor Base Address Low
	TDBAH    = 0x3804 // Transmit Descriptor Base Address High
	TDLEN    = 0x3808 // Transmit Descriptor Length
	TDH      = 0x3810 // Transmit Descriptor Head
	TDT      = 0x3818 // Transmit Descriptor Tail
	TIDV     = 0x3820 // Transmit Interrupt Delay Value
	TXDCTL   = 0x3828 // Transmit Descriptor Control
	TADV     = 0x382C // Transmit Absolute Interrupt Delay Value
	RXCSUM   = 0x5000 // Receive Checksum Control
	MTA      = 0x5200 // Multicast Table Array, 128 registers to 0x53FC
	RA       = 0x5400 // Receive Address array, 16 RAL/RAH pairs to 0x547C

	// BAR0Size is the size of the 82540EM memory BAR (128 KiB).
	BAR0Size = 0x20000
)

// Number of entries in the register arrays.
const (
	MTASize = 128 // MTA[127:0]
	RASize  = 16  // RAL/RAH[15:0]
)

// RAL returns the offset of Receive Address Low register n (13.5.2).
func RAL(n int) uint32 { return RA + 8*uint32(n) }

// RAH returns the offset of Receive Address High register n (13.5.3).
func RAH(n int) uint32 { return RA + 8*uint32(n) + 4 }

// CTRL bits (13.4.1).
const (
	CTRL_FD      = 1 << 0  // Full Duplex
	CTRL_ASDE    = 1 << 5  // Auto-Speed Detection Enable
	CTRL_SLU     = 1 << 6  // Set Link Up
	CTRL_RST     = 1 << 26 // Device Reset, self-clearing
	CTRL_VME     = 1 << 30 // VLAN Mode Enable
	CTRL_PHY_RST = 1 << 31 // PHY Reset
)

// STATUS bits (13.4.2).
const (
	STATUS_FD         = 1 << 0 // Full Duplex
	STATUS_LU         = 1 << 1 // Link Up
	STATUS_SPEED_1000 = 2 << 6 // SPEED field (7:6) = 10b, 1000 Mb/s
)

// EECD bits (13.4.3).
const (
	EECD_EE_PRES = 1 << 8 // EEPROM Present
)

// EERD fields (13.4.4, 82540EP/EM layout).
const (
	EERD_START      = 1 << 0
	EERD_DONE       = 1 << 4
	EERD_ADDR_SHIFT = 8
	EERD_DATA_SHIFT = 16
)

// MDIC fields (13.4, MDI Control Register).
const (
	MDIC_DATA_MASK   = 0xFFFF
	MDIC_REG_SHIFT   = 16
	MDIC_PHY_SHIFT   = 21
	MDIC_OP_WRITE    = 1 << 26
	MDIC_OP_READ     = 2 << 26
	MDIC_OP_MASK     = 3 << 26
	MDIC_R           = 1 << 28 // Ready
	MDIC_I           = 1 << 29 // Interrupt enable
	MDIC_E           = 1 << 30 // Error
	MDIC_REG_MASK    = 0x1F
	MDIC_PHY_MASK    = 0x1F
	MDIC_PHY_ADDRESS = 1 // the internal PHY answers at address 1
)

// Interrupt cause bits, common to ICR, ICS, IMS and IMC (13.4.17).
const (
	ICR_TXDW   = 1 << 0 // Transmit Descriptor Written Back
	ICR_TXQE   = 1 << 1 // Transmit Queue Empty
	ICR_LSC    = 1 << 2 // Link Status Change
	ICR_RXSEQ  = 1 << 3 // Receive Sequence Error
	ICR_RXDMT0 = 1 << 4 // Receive Descriptor Minimum Threshold hit
	ICR_RXO    = 1 << 6 // Receiver Overrun
	ICR_RXT0   = 1 << 7 // Receiver Timer Interrupt
	ICR_MDAC   = 1 << 9 // MDI/O Access Complete

	// icrValid covers the cause bits the 82540EM defines (0-16).
	icrValid = 0x1FFFF
)

// RCTL bits (13.4.22).
const (
	RCTL_EN          = 1 << 1  // Receiver Enable
	RCTL_SBP         = 1 << 2  // Store Bad Packets
	RCTL_UPE         = 1 << 3  // Unicast Promiscuous Enable
	RCTL_MPE         = 1 << 4  // Multicast Promiscuous Enable
	RCTL_LPE         = 1 << 5  // Long Packet Reception Enable
	RCTL_RDMTS_SHIFT = 8       // Receive Descriptor Minimum Threshold Size, 9:8
	RCTL_RDMTS_MASK  = 3 << 8  //
	RCTL_RDMTS_HALF  = 0 << 8  // 1/2 of RDLEN
	RCTL_RDMTS_QUAR  = 1 << 8  // 1/4 of RDLEN
	RCTL_RDMTS_EIGTH = 2 << 8  // 1/8 of RDLEN
	RCTL_MO_SHIFT    = 12      // Multicast Offset, 13:12
	RCTL_MO_MASK     = 3 << 12 //
	RCTL_BAM         = 1 << 15 // Broadcast Accept Mode
	RCTL_BSIZE_SHIFT = 16      // Receive Buffer Size, 17:16
	RCTL_BSIZE_MASK  = 3 << 16 //
	RCTL_BSEX        = 1 << 25 // Buffer Size Extension (x16)
	RCTL_SECRC       = 1 << 26 // Strip Ethernet CRC
)

// RCTL.BSIZE encodings (13.4.22).
const (
	RCTL_BSIZE_2048  = 0 << 16
	RCTL_BSIZE_1024  = 1 << 16
	RCTL_BSIZE_512   = 2 << 16
	RCTL_BSIZE_256   = 3 << 16
	RCTL_BSIZE_16384 = RCTL_BSEX | 1<<16
	RCTL_BSIZE_8192  = RCTL_BSEX | 2<<16
	RCTL_BSIZE_4096  = RCTL_BSEX | 3<<16
)

// TCTL bits (13.4, Transmit Control Register).
const (
	TCTL_EN         = 1 << 1 // Transmit Enable
	TCTL_PSP        = 1 << 3 // Pad Short Packets
	TCTL_CT_SHIFT   = 4      // Collision Threshold, 11:4
	TCTL_COLD_SHIFT = 12     // Collision Distance, 21:12
)

// RDTR bits (13.4.30).
const (
	RDTR_DELAY_MASK = 0xFFFF
	RDTR_FPD        = 1 << 31 // Flush Partial Descriptor block, self-clearing
)

// RXCSUM bits (13.4, Receive Checksum Control).
const (
	RXCSUM_PCSS_MASK = 0xFF   // Packet Checksum Start
	RXCSUM_IPOFLD    = 1 << 8 // IP Checksum Off-load Enable
	RXCSUM_TUOFLD    = 1 << 9 // TCP/UDP Checksum Off-load Enable
)

// RAH bits (13.5.3).
const (
	RAH_AS_MASK = 3 << 16 // Address Select: 00b destination address
	RAH_AV      = 1 << 31 // Address Valid
)

// Legacy receive descriptor layout (3.2.3, Table 3-1): 16 bytes.
const (
	RxDescSize = 16

	RXD_ADDR    = 0  // buffer address, u64
	RXD_LENGTH  = 8  // u16
	RXD_CSUM    = 10 // packet checksum, u16
	RXD_STATUS  = 12 // u8
	RXD_ERRORS  = 13 // u8
	RXD_SPECIAL = 14 // u16
)

// Receive descriptor status bits (3.2.3.1, Table 3-2).
const (
	RXD_STAT_DD    = 1 << 0 // Descriptor Done
	RXD_STAT_EOP   = 1 << 1 // End of Packet
	RXD_STAT_IXSM  = 1 << 2 // Ignore Checksum Indication
	RXD_STAT_VP    = 1 << 3 // Packet is 802.1Q
	RXD_STAT_TCPCS = 1 << 5 // TCP/UDP Checksum Calculated
	RXD_STAT_IPCS  = 1 << 6 // IP Checksum Calculated
	RXD_STAT_PIF   = 1 << 7 // Passed In-exact Filter
)

// Receive descriptor error bits (3.2.3.2, Table 3-3).
const (
	RXD_ERR_CE   = 1 << 0 // CRC or Alignment Error
	RXD_ERR_SE   = 1 << 1 // Symbol Error
	RXD_ERR_SEQ  = 1 << 2 // Sequence Error
	RXD_ERR_CXE  = 1 << 4 // Carrier Extension Error
	RXD_ERR_TCPE = 1 << 5 // TCP/UDP Checksum Error
	RXD_ERR_IPE  = 1 << 6 // IP Checksum Error
	RXD_ERR_RXE  = 1 << 7 // RX Data Error
)

// Legacy transmit descriptor layout (3.3.3, Table 3-8): 16 bytes.
const (
	TxDescSize = 16

	TXD_ADDR    = 0  // buffer address, u64
	TXD_LENGTH  = 8  // u16
	TXD_CSO     = 10 // Checksum Offset, u8
	TXD_CMD     = 11 // u8
	TXD_STATUS  = 12 // STA in bits 3:0, u8
	TXD_CSS     = 13 // Checksum Start, u8
	TXD_SPECIAL = 14 // u16
)

// Transmit descriptor command bits (3.3.3.1, Table 3-10).
const (
	TXD_CMD_EOP  = 1 << 0 // End Of Packet
	TXD_CMD_IFCS = 1 << 1 // Insert FCS
	TXD_CMD_IC   = 1 << 2 // Insert Checksum
	TXD_CMD_RS   = 1 << 3 // Report Status
	TXD_CMD_DEXT = 1 << 5 // Extension (0b = legacy)
	TXD_CMD_VLE  = 1 << 6 // VLAN Packet Enable
	TXD_CMD_IDE  = 1 << 7 // Interrupt Delay Enable
)

// Transmit descriptor status bits (3.3.3.2, Table 3-11).
const (
	TXD_STAT_DD = 1 << 0 // Descriptor Done
)

// TCP/IP context descriptor layout (3.3.6, Table 3-13): DEXT set, DTYP
// 0000b.
const (
	TXD_CTX_IPCSS  = 0  // IP checksum start, u8
	TXD_CTX_IPCSO  = 1  // IP checksum offset, u8
	TXD_CTX_IPCSE  = 2  // IP checksum end, inclusive; 0 = end of packet, u16
	TXD_CTX_TUCSS  = 4  // TCP/UDP checksum start, u8
	TXD_CTX_TUCSO  = 5  // TCP/UDP checksum offset, u8
	TXD_CTX_TUCSE  = 6  // TCP/UDP checksum end, inclusive; 0 = end of packet, u16
	TXD_CTX_PAYLEN = 8  // bits 19:0 of the dword; DTYP in bits 23:20
	TXD_CTX_TUCMD  = 11 // u8
	TXD_CTX_STA    = 12 // u8, STA in bits 3:0
	TXD_CTX_HDRLEN = 13 // u8
	TXD_CTX_MSS    = 14 // u16
)

// TCP/IP data descriptor layout (3.3.7, Table 3-15): DEXT set, DTYP 0001b.
// DTALEN is bits 19:0 of the dword at TXD_LENGTH, DTYP bits 23:20, DCMD the
// byte at TXD_CMD.
const (
	TXD_POPTS = 13 // packet options, u8

	TXD_DTYP_SHIFT   = 20
	TXD_DTYP_MASK    = 0xF << TXD_DTYP_SHIFT
	TXD_DTYP_CONTEXT = 0
	TXD_DTYP_DATA    = 1
	TXD_LEN20_MASK   = 1<<20 - 1 // DTALEN and PAYLEN
)

// TUCMD bits (3.3.6.1, Table 3-14) and the DCMD bit that differs from the
// legacy CMD (3.3.7.1, Table 3-17).
const (
	TXD_TUCMD_TCP = 1 << 0 // TCP packet type (else UDP)
	TXD_TUCMD_IP  = 1 << 1 // IPv4 (else IPv6)
	TXD_TUCMD_TSE = 1 << 2 // TCP Segmentation Enable
	TXD_DCMD_TSE  = 1 << 2 // data descriptor is part of the TSO context
)

// POPTS bits (3.3.7.1, Table 3-18).
const (
	TXD_POPTS_IXSM = 1 << 0 // Insert IP Checksum
	TXD_POPTS_TXSM = 1 << 1 // Insert TCP/UDP Checksum
)

// TxFIFOSize is the transmit packet buffer after reset (PBA = 0x30 leaves
// 16 KB of the 64 KB to transmit). A TCP segmentation context needs
// MSS + HDRLEN at least 80 bytes below it (3.3.6, note 2).
const (
	TxFIFOSize    = 16 << 10
	tsoFIFOMargin = 80
	// tsoHeaderMax is the on-chip header buffer the prototype header is
	// fetched into once per context (3.5.9).
	tsoHeaderMax = 240
)

// Frame size limits (13.7.15, 13.7.36, 3.3.3).
const (
	// MaxFrameNoLPE is the largest frame, DA through CRC, accepted with
	// RCTL.LPE clear.
	MaxFrameNoLPE = 1522
	// MaxFrameLPE is the largest frame, DA through CRC, accepted with
	// RCTL.LPE set.
	MaxFrameLPE = 16384
	// MaxTxPacket is the largest packet a transmit descriptor chain may
	// describe, before padding and CRC.
	MaxTxPacket = 16288

	crcLen       = 4
	minFrameData = 60 // 64-byte minimum frame without its CRC
	ethHdrLen    = 14
)

// Delay timer units (13.4.18, 13.4.30).
const (
	delayUnitNs = 1024 // RDTR, RADV, TIDV, TADV count 1.024 µs
	itrUnitNs   = 256  // ITR counts 256 ns
)
