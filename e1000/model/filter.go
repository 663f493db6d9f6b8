package model

func isMulticast(dst []byte) bool { return dst[0]&1 != 0 }

func isBroadcast(dst []byte) bool {
	return dst[0]&dst[1]&dst[2]&dst[3]&dst[4]&dst[5] == 0xFF
}

// MTAHash returns the 12-bit multicast hash of a destination address for
// RCTL.MO = mo (13.4.22, 13.5.1). The address is taken as the 48-bit value
// with dst[0] in bits 7:0, as the device stores it, and the hash is bits
// 47:36 (MO=00b), 46:35 (01b), 45:34 (10b) or 43:32 (11b). The upper seven
// bits of the hash select one of the 128 MTA registers, the lower five the
// bit within it.
func MTAHash(dst [6]byte, mo uint32) uint16 {
	var a uint64
	for i := 5; i >= 0; i-- {
		a = a<<8 | uint64(dst[i])
	}
	low := [4]uint{36, 35, 34, 32}[mo&3]
	return uint16(a >> low & 0xFFF)
}

// exactMatch reports whether dst equals a valid destination entry of the
// receive address array (13.5.2, 13.5.3). Entries whose AS field selects
// the source address are not destination filters.
func (m *Model) exactMatch(dst []byte) bool {
	lo := uint32(dst[0]) | uint32(dst[1])<<8 | uint32(dst[2])<<16 | uint32(dst[3])<<24
	hi := uint32(dst[4]) | uint32(dst[5])<<8
	for _, ra := range m.ra {
		if ra[1]&RAH_AV != 0 && ra[1]&RAH_AS_MASK == 0 && ra[0] == lo && ra[1]&0xFFFF == hi {
			return true
		}
	}
	return false
}

func (m *Model) mtaHit(dst []byte) bool {
	h := MTAHash([6]byte(dst[:6]), m.rctl&RCTL_MO_MASK>>RCTL_MO_SHIFT)
	return m.mta[h>>5]&(1<<(h&31)) != 0
}

// filter applies the receive address filters (3.2.1): exact
// unicast/multicast entries, broadcast with RCTL.BAM, the multicast hash
// table, and the promiscuous modes RCTL.UPE and RCTL.MPE. inexact is the
// descriptor's PIF bit: the packet passed only a filter that software must
// double-check (hash or promiscuous).
func (m *Model) filter(dst []byte) (accept, inexact bool) {
	switch {
	case m.exactMatch(dst):
		return true, false
	case isBroadcast(dst) && m.rctl&RCTL_BAM != 0:
		return true, false
	case isMulticast(dst):
		if m.rctl&RCTL_MPE != 0 || m.mtaHit(dst) {
			return true, true
		}
		return false, false
	default:
		return m.rctl&RCTL_UPE != 0, true
	}
}
