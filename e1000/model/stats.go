package model

// Statistics registers (13.7), 0x4000-0x40FF. All reset when read; a 64-bit
// pair resets when its high half is read; all stick at their maximum.
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
	PRC1522  = 0x4070 // Packets Received (1024 to Max Bytes) Count
	GPRC     = 0x4074 // Good Packets Received Count
	BPRC     = 0x4078 // Broadcast Packets Received Count
	MPRC     = 0x407C // Multicast Packets Received Count
	GPTC     = 0x4080 // Good Packets Transmitted Count
	GORCL    = 0x4088 // Good Octets Received Count, low
	GORCH    = 0x408C // Good Octets Received Count, high
	GOTCL    = 0x4090 // Good Octets Transmitted Count, low
	GOTCH    = 0x4094 // Good Octets Transmitted Count, high
	RNBC     = 0x40A0 // Receive No Buffers Count
	RUC      = 0x40A4 // Receive Undersize Count
	RFC      = 0x40A8 // Receive Fragment Count
	ROC      = 0x40AC // Receive Oversize Count
	RJC      = 0x40B0 // Receive Jabber Count
	MGTPRC   = 0x40B4 // Management Packets Received Count
	MGTPDC   = 0x40B8 // Management Packets Dropped Count
	MGTPTC   = 0x40BC // Management Packets Transmitted Count
	TORL     = 0x40C0 // Total Octets Received, low
	TORH     = 0x40C4 // Total Octets Received, high
	TOTL     = 0x40C8 // Total Octets Transmitted, low
	TOTH     = 0x40CC // Total Octets Transmitted, high
	TPR      = 0x40D0 // Total Packets Received
	TPT      = 0x40D4 // Total Packets Transmitted
	PTC64    = 0x40D8 // Packets Transmitted (64 Bytes) Count
	PTC127   = 0x40DC // Packets Transmitted (65-127 Bytes) Count
	PTC255   = 0x40E0 // Packets Transmitted (128-255 Bytes) Count
	PTC511   = 0x40E4 // Packets Transmitted (256-511 Bytes) Count
	PTC1023  = 0x40E8 // Packets Transmitted (512-1023 Bytes) Count
	PTC1522  = 0x40EC // Packets Transmitted (1024 Bytes or Greater) Count
	MPTC     = 0x40F0 // Multicast Packets Transmitted Count
	BPTC     = 0x40F4 // Broadcast Packets Transmitted Count
	TSCTC    = 0x40F8 // TCP Segmentation Context Transmitted Count
	TSCTFC   = 0x40FC // TCP Segmentation Context Tx Fail Count

	statsBase = 0x4000
	statsEnd  = 0x4100
	statsRegs = (statsEnd - statsBase) / 4
)

func statIndex(off uint32) uint32 { return (off - statsBase) / 4 }

// statInc adds one to a 32-bit counter, sticking at the maximum.
func (m *Model) statInc(off uint32) {
	if i := statIndex(off); m.stats[i] != ^uint32(0) {
		m.stats[i]++
	}
}

// statAdd64 adds n to the 64-bit counter whose low half is at lo.
func (m *Model) statAdd64(lo uint32, n int) {
	i := statIndex(lo)
	v := uint64(m.stats[i+1])<<32 | uint64(m.stats[i])
	if s := v + uint64(n); s >= v {
		v = s
	} else {
		v = ^uint64(0)
	}
	m.stats[i], m.stats[i+1] = uint32(v), uint32(v>>32)
}

func (m *Model) readStat(off uint32) uint32 {
	i := statIndex(off)
	v := m.stats[i]
	switch off {
	case GORCL, GOTCL, TORL, TOTL:
		// The low half alone does not reset the pair (13.7).
	case GORCH, GOTCH, TORH, TOTH:
		m.stats[i-1], m.stats[i] = 0, 0
	default:
		m.stats[i] = 0
	}
	return v
}

// sizeBin picks the per-size counter for a frame of n bytes, DA through
// CRC; frames under 64 bytes are in no bin.
func sizeBin(base64 uint32, n int) (uint32, bool) {
	switch {
	case n < 64:
		return 0, false
	case n == 64:
		return base64, true
	case n <= 127:
		return base64 + 4, true
	case n <= 255:
		return base64 + 8, true
	case n <= 511:
		return base64 + 12, true
	case n <= 1023:
		return base64 + 16, true
	default:
		return base64 + 20, true
	}
}

// countRxGood updates the statistics for a packet that passed filtering and
// was received (13.7.27-13.7.31): dst is its destination address and wire
// its length from DA through CRC.
func (m *Model) countRxGood(dst []byte, wire int) {
	m.statInc(GPRC)
	m.statAdd64(GORCL, wire)
	switch {
	case isBroadcast(dst):
		m.statInc(BPRC)
	case isMulticast(dst):
		m.statInc(MPRC)
	}
	if off, ok := sizeBin(PRC64, wire); ok {
		m.statInc(off)
	}
}

// countTx updates the statistics for a transmitted packet.
func (m *Model) countTx(dst []byte, wire int) {
	m.statInc(TPT)
	m.statAdd64(TOTL, wire)
	m.statInc(GPTC)
	m.statAdd64(GOTCL, wire)
	switch {
	case isBroadcast(dst):
		m.statInc(BPTC)
	case isMulticast(dst):
		m.statInc(MPTC)
	}
	if off, ok := sizeBin(PTC64, wire); ok {
		m.statInc(off)
	}
}

// ModelStats are the model's own counters: what happened on the device
// side, for tests to assert on. Unlike the statistics registers they are
// never cleared, not even by CTRL.RST.
type ModelStats struct {
	RegReads      uint64 // Read32 calls
	RegWrites     uint64 // Write32 calls
	UnknownReads  uint64 // reads of offsets the model does not implement (read 0)
	UnknownWrites uint64 // writes to offsets the model does not implement (ignored)
	ICRReads      uint64 // reads of ICR
	RDTWrites     uint64 // writes of RDT
	TDTWrites     uint64 // writes of TDT
	Resets        uint64 // CTRL.RST writes
	EEPROMReads   uint64 // EERD reads started
	Interrupts    uint64 // rising edges of the INTx line

	RxFrames        uint64 // frames written to the receive ring
	RxBytes         uint64 // their bytes as handed to Receive, without FCS
	RxDescriptors   uint64 // receive descriptors written back
	RxFiltered      uint64 // frames silently dropped by the address filter
	RxDropped       uint64 // frames Receive refused with an error (sum of below)
	RxLinkDown      uint64 // ... because STATUS.LU was clear
	RxDisabled      uint64 // ... because RCTL.EN was clear
	RxRunt          uint64 // ... shorter than an Ethernet header
	RxOversize      uint64 // ... longer than RCTL.LPE allows
	RxNoDescriptors uint64 // ... not enough free descriptors (RXO, MPC, RNBC)
	RxBadConfig     uint64 // ... ring or buffer size unusable (see RingErrors)
	RxDMAErrors     uint64 // ... a buffer address outside the arena (RXE written back)
	RxInjected      uint64 // write-backs made by InjectRx

	TxFrames        uint64 // frames handed to the transmit handler
	TxBytes         uint64 // their bytes, without FCS
	TxDescriptors   uint64 // transmit descriptors consumed
	TxDropped       uint64 // packets not sent (sum of below)
	TxLinkDown      uint64 // ... because STATUS.LU was clear
	TxUnsupported   uint64 // ... a DEXT descriptor of an unknown type (counted per descriptor)
	TxBadSequence   uint64 // ... legacy and TCP/IP data descriptors mixed, a context descriptor inside a packet, or TSE without a TSE context
	TxOversize      uint64 // ... longer than MaxTxPacket (no TSO)
	TxDMAErrors     uint64 // ... a buffer outside the arena
	TxTSOFailed     uint64 // ... a TSO context that could not run or whose payload differed from PAYLEN (TSCTFC)
	TxNullPackets   uint64 // EOP reached with no data (null descriptors only)
	TxChecksums     uint64 // checksums inserted (IC, TXSM, IXSM; per segment with TSO)
	TxChecksumSkips uint64 // a checksum asked for with its range or field outside the packet, so not inserted
	TxContexts      uint64 // TCP/IP context descriptors loaded
	TxTSOContexts   uint64 // TSO packets segmented (TSCTC)
	TxTSOSegments   uint64 // frames they became

	RingErrors uint64 // ring base/length outside the arena, or head/tail past the ring

	ArenaAllocs   uint64 // successful Arena.Alloc calls
	ArenaFailures uint64 // failed Arena.Alloc calls, injected ones included
}

// Stats returns a snapshot of the model's counters.
func (m *Model) Stats() ModelStats {
	m.mu.Lock()
	s := m.st
	m.mu.Unlock()
	s.ArenaAllocs, s.ArenaFailures = m.arena.Counts()
	return s
}

// Accesses returns how many times the register at off has been read and
// written, so tests can assert access patterns such as one RDT write per
// batch.
func (m *Model) Accesses(off uint32) (reads, writes uint64) {
	if off >= BAR0Size || off&3 != 0 {
		return 0, 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regReads[off/4], m.regWrites[off/4]
}
