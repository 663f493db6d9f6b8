package e1000

// Register offsets in the memory BAR (manual section 13.4), named as in the
// manual.
const (
	CTRL   = 0x0000 // Device Control
	STATUS = 0x0008 // Device Status
	EECD   = 0x0010 // EEPROM/Flash Control
	EERD   = 0x0014 // EEPROM Read
	ICR    = 0x00C0 // Interrupt Cause Read (clear on read)
	ITR    = 0x00C4 // Interrupt Throttling
	ICS    = 0x00C8 // Interrupt Cause Set
	IMS    = 0x00D0 // Interrupt Mask Set/Read
	IMC    = 0x00D8 // Interrupt Mask Clear
	RCTL   = 0x0100 // Receive Control
	TCTL   = 0x0400 // Transmit Control
	TIPG   = 0x0410 // Transmit Inter Packet Gap
	RDBAL  = 0x2800 // Receive Descriptor Base Address Low
	RDBAH  = 0x2804 // Receive Descriptor Base Address High
	RDLEN  = 0x2808 // Receive Descriptor Length
	RDH    = 0x2810 // Receive Descriptor Head
	RDT    = 0x2818 // Receive Descriptor Tail
	RDTR   = 0x2820 // Receive Delay Timer
	RADV   = 0x282C // Receive Interrupt Absolute Delay Timer
	TDBAL  = 0x3800 // Transmit Descriptor Base Address Low
	TDBAH  = 0x3804 // Transmit Descriptor Base Address High
	TDLEN  = 0x3808 // Transmit Descriptor Length
	TDH    = 0x3810 // Transmit Descriptor Head
	TDT    = 0x3818 // Transmit Descriptor Tail
	TIDV   = 0x3820 // Transmit Interrupt Delay Value
	TADV   = 0x382C // Transmit Absolute Interrupt Delay Value
	RXCSUM = 0x5000 // Receive Checksum Control
	MTA    = 0x5200 // Multicast Table Array, MTASize registers
	RAL0   = 0x5400 // Receive Address Low, entry 0
	RAH0   = 0x5404 // Receive Address High, entry 0
)

// Register array sizes: RAL/RAH(n) sit at RAL0+8n and RAH0+8n.
const (
	MTASize = 128 // Multicast Table Array registers (4096 hash bits)
	RASize  = 16  // Receive Address entries
)

// CTRL bits (13.4.1).
const (
	CTRL_SLU     = 1 << 6  // Set Link Up
	CTRL_RST     = 1 << 26 // Device Reset, self-clearing
	CTRL_PHY_RST = 1 << 31 // PHY Reset
)

// STATUS bits (13.4.2).
const (
	STATUS_FD          = 1 << 0 // Full Duplex
	STATUS_LU          = 1 << 1 // Link Up
	STATUS_SPEED_SHIFT = 6      // Link speed, bits 7:6
	STATUS_SPEED_MASK  = 3 << 6
)

// EECD bits (13.4.3).
const (
	EECD_EE_PRES = 1 << 8 // EEPROM Present
)

// EERD fields (13.4.4; the 82540EP/EM layout, other 8254x parts differ).
const (
	EERD_START      = 1 << 0 // Start Read
	EERD_DONE       = 1 << 4 // Read Done
	EERD_ADDR_SHIFT = 8      // word address, bits 15:8
	EERD_DATA_SHIFT = 16     // data, bits 31:16
)

// Interrupt cause bits, shared by ICR, ICS, IMS and IMC (13.4.17).
const (
	ICR_TXDW   = 1 << 0 // Transmit Descriptor Written Back
	ICR_TXQE   = 1 << 1 // Transmit Queue Empty
	ICR_LSC    = 1 << 2 // Link Status Change
	ICR_RXSEQ  = 1 << 3 // Receive Sequence Error
	ICR_RXDMT0 = 1 << 4 // Receive Descriptor Minimum Threshold reached
	ICR_RXO    = 1 << 6 // Receiver Overrun
	ICR_RXT0   = 1 << 7 // Receiver Timer Interrupt
)

// RCTL bits (13.4.22).
const (
	RCTL_EN         = 1 << 1  // Receiver Enable
	RCTL_UPE        = 1 << 3  // Unicast Promiscuous Enable
	RCTL_MPE        = 1 << 4  // Multicast Promiscuous Enable
	RCTL_LPE        = 1 << 5  // Long Packet Reception Enable
	RCTL_RDMTS_HALF = 0 << 8  // RXDMT0 when free descriptors fall to 1/2 of RDLEN
	RCTL_MO_0       = 0 << 12 // Multicast Offset: hash on address bits 47:36
	RCTL_BAM        = 1 << 15 // Broadcast Accept Mode
	RCTL_BSIZE_2048 = 0 << 16 // Receive Buffer Size 2048 (with BSEX clear)
	RCTL_BSEX       = 1 << 25 // Buffer Size Extension
	RCTL_SECRC      = 1 << 26 // Strip Ethernet CRC
)

// RCTL.BSIZE values with BSEX set, which multiplies the size by 16 (13.4.22).
const (
	RCTL_BSIZE_16384_BSEX = 1 << 16
	RCTL_BSIZE_8192_BSEX  = 2 << 16
	RCTL_BSIZE_4096_BSEX  = 3 << 16
)

// TCTL bits and fields (13.4.33).
const (
	TCTL_EN         = 1 << 1 // Transmit Enable
	TCTL_PSP        = 1 << 3 // Pad Short Packets
	TCTL_CT_SHIFT   = 4      // Collision Threshold, bits 11:4
	TCTL_COLD_SHIFT = 12     // Collision Distance, bits 21:12
)

// TIPG fields (13.4.34).
const (
	TIPG_IPGT_SHIFT  = 0  // IPG Transmit Time, bits 9:0
	TIPG_IPGR1_SHIFT = 10 // IPG Receive Time 1, bits 19:10
	TIPG_IPGR2_SHIFT = 20 // IPG Receive Time 2, bits 29:20
)

// RXCSUM bits (13.4.24).
const (
	RXCSUM_IPOFLD = 1 << 8 // IP Checksum Off-load Enable
	RXCSUM_TUOFLD = 1 << 9 // TCP/UDP Checksum Off-load Enable
)

// RAH bits (13.5.3).
const (
	RAH_AV = 1 << 31 // Address Valid
)

// Statistics registers (13.7), all clear on read. The 64-bit octet counters
// are register pairs; the low half must be read first.
const (
	CRCERRS  = 0x4000 // CRC Error Count
	ALGNERRC = 0x4004 // Alignment Error Count
	SYMERRS  = 0x4008 // Symbol Error Count
	RXERRC   = 0x400C // RX Error Count
	MPC      = 0x4010 // Missed Packets Count
	SCC      = 0x4014 // Single Collision Count
	ECOL     = 0x4018 // Excessive Collisions Count
	MCC      = 0x401C // Multiple Collision Count
	LATECOL  = 0x4020 // Late Collisions Count
	COLC     = 0x4028 // Collision Count
	DC       = 0x4030 // Defer Count
	TNCRS    = 0x4034 // Transmit with No CRS
	SEC      = 0x4038 // Sequence Error Count
	CEXTERR  = 0x403C // Carrier Extension Error Count
	RLEC     = 0x4040 // Receive Length Error Count
	XONRXC   = 0x4048 // XON Received Count
	XONTXC   = 0x404C // XON Transmitted Count
	XOFFRXC  = 0x4050 // XOFF Received Count
	XOFFTXC  = 0x4054 // XOFF Transmitted Count
	FCRUC    = 0x4058 // FC Received Unsupported Count
	PRC64    = 0x405C // Packets Received (64 Bytes) Count
	PRC127   = 0x4060 // Packets Received (65-127 Bytes) Count
	PRC255   = 0x4064 // Packets Received (128-255 Bytes) Count
	PRC511   = 0x4068 // Packets Received (256-511 Bytes) Count
	PRC1023  = 0x406C // Packets Received (512-1023 Bytes) Count
	PRC1522  = 0x4070 // Packets Received (1024-Max Bytes) Count
	GPRC     = 0x4074 // Good Packets Received Count
	BPRC     = 0x4078 // Broadcast Packets Received Count
	MPRC     = 0x407C // Multicast Packets Received Count
	GPTC     = 0x4080 // Good Packets Transmitted Count
	GORCL    = 0x4088 // Good Octets Received Count Low
	GORCH    = 0x408C // Good Octets Received Count High
	GOTCL    = 0x4090 // Good Octets Transmitted Count Low
	GOTCH    = 0x4094 // Good Octets Transmitted Count High
	RNBC     = 0x40A0 // Receive No Buffers Count
	RUC      = 0x40A4 // Receive Undersize Count
	RFC      = 0x40A8 // Receive Fragment Count
	ROC      = 0x40AC // Receive Oversize Count
	RJC      = 0x40B0 // Receive Jabber Count
	TORL     = 0x40C0 // Total Octets Received Low
	TORH     = 0x40C4 // Total Octets Received High
	TOTL     = 0x40C8 // Total Octets Transmitted Low
	TOTH     = 0x40CC // Total Octets Transmitted High
	TPR      = 0x40D0 // Total Packets Received
	TPT      = 0x40D4 // Total Packets Transmitted
	PTC64    = 0x40D8 // Packets Transmitted (64 Bytes) Count
	PTC127   = 0x40DC // Packets Transmitted (65-127 Bytes) Count
	PTC255   = 0x40E0 // Packets Transmitted (128-255 Bytes) Count
	PTC511   = 0x40E4 // Packets Transmitted (256-511 Bytes) Count
	PTC1023  = 0x40E8 // Packets Transmitted (512-1023 Bytes) Count
	PTC1522  = 0x40EC // Packets Transmitted (1024-Max Bytes) Count
	MPTC     = 0x40F0 // Multicast Packets Transmitted Count
	BPTC     = 0x40F4 // Broadcast Packets Transmitted Count
)
