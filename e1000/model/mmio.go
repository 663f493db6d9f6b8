package model

// Register access: the BAR0 decode of Read32 and Write32.

// Read32 reads the 32-bit register at BAR0 offset off.
func (m *Model) Read32(off uint32) uint32 {
	m.mu.Lock()
	m.st.RegReads++
	m.autoRead()
	if off < BAR0Size && off&3 == 0 {
		m.regReads[off/4]++
	}
	v, ok := m.readReg(off)
	if !ok {
		m.st.UnknownReads++
	}
	m.unlockNotify()
	return v
}

// Write32 writes val to the 32-bit register at BAR0 offset off.
func (m *Model) Write32(off uint32, val uint32) {
	m.mu.Lock()
	m.st.RegWrites++
	m.autoRead()
	if off < BAR0Size && off&3 == 0 {
		m.regWrites[off/4]++
	}
	if !m.writeReg(off, val) {
		m.st.UnknownWrites++
	}
	m.unlockNotify()
}

func (m *Model) readReg(off uint32) (uint32, bool) {
	switch {
	case off&3 != 0 || off >= BAR0Size:
		return 0, false
	case off >= MTA && off < MTA+4*MTASize:
		return m.mta[(off-MTA)/4], true
	case off >= RA && off < RA+8*RASize:
		return m.ra[(off-RA)/8][(off-RA)/4%2], true
	case off >= statsBase && off < statsEnd:
		return m.readStat(off), true
	}
	switch off {
	case CTRL:
		return m.ctrl, true
	case STATUS:
		return m.status(), true
	case EECD:
		return EECD_EE_PRES, true
	case EERD:
		return m.eerd, true
	case MDIC:
		return m.mdic, true
	case ICR:
		// Reading ICR acknowledges every pending cause (13.4.17).
		v := m.icr
		m.icr = 0
		m.st.ICRReads++
		m.updateIRQ()
		return v, true
	case ITR:
		return m.itr, true
	case ICS, IMC:
		return 0, true // write-only
	case IMS:
		return m.ims, true
	case RCTL:
		return m.rctl, true
	case TCTL:
		return m.tctl, true
	case RDBAL:
		return m.rdbal, true
	case RDBAH:
		return m.rdbah, true
	case RDLEN:
		return m.rdlen, true
	case RDH:
		return m.rdh, true
	case RDT:
		return m.rdt, true
	case RDTR:
		return m.rdtr, true
	case RADV:
		return m.radv, true
	case TDBAL:
		return m.tdbal, true
	case TDBAH:
		return m.tdbah, true
	case TDLEN:
		return m.tdlen, true
	case TDH:
		return m.tdh, true
	case TDT:
		return m.tdt, true
	case TIDV:
		return m.tidv, true
	case TADV:
		return m.tadv, true
	case RXCSUM:
		return m.rxcsum, true
	}
	v, ok := m.plain[off]
	return v, ok
}

func (m *Model) writeReg(off, v uint32) bool {
	switch {
	case off&3 != 0 || off >= BAR0Size:
		return false
	case off >= MTA && off < MTA+4*MTASize:
		m.mta[(off-MTA)/4] = v
		return true
	case off >= RA && off < RA+8*RASize:
		i, hi := (off-RA)/8, (off-RA)/4%2
		if hi == 1 {
			v &= 0xFFFF | RAH_AS_MASK | RAH_AV
		}
		m.ra[i][hi] = v
		return true
	case off >= statsBase && off < statsEnd:
		return true // read-only counters; writes are ignored
	}
	switch off {
	case CTRL:
		if v&CTRL_RST != 0 {
			m.st.Resets++
			m.reset() // RST self-clears: CTRL reads back without it
			return true
		}
		m.ctrl = v
		m.updateLink()
	case STATUS, EECD:
		// STATUS is read-only; EECD bit-banging is not modelled (use EERD).
	case EERD:
		m.eerdWrite(v)
	case MDIC:
		m.mdicWrite(v)
	case ICR:
		m.icr &^= v // writing 1b clears the cause (13.4.17)
		m.updateIRQ()
	case ITR:
		m.itr = v & 0xFFFF
		m.updateIRQ()
	case ICS:
		m.setCause(v & icrValid)
	case IMS:
		m.ims |= v & icrValid
		m.updateIRQ()
	case IMC:
		m.ims &^= v
		m.updateIRQ()
	case RCTL:
		m.rctl = v
	case TCTL:
		was := m.tctl
		m.tctl = v
		if v&TCTL_EN != 0 && was&TCTL_EN == 0 {
			m.txProcess() // descriptors queued while disabled go out now
		}
	case RDBAL:
		m.rdbal = v &^ 0xF // 16-byte aligned; low bits ignored
	case RDBAH:
		m.rdbah = v
	case RDLEN:
		m.rdlen = v & 0xFFF80 // LEN is bits 19:7 (13.4.27)
	case RDH:
		m.rdh = v & 0xFFFF
	case RDT:
		m.rdt = v & 0xFFFF
		m.st.RDTWrites++
	case RDTR:
		m.rdtr = v & RDTR_DELAY_MASK
		if v&RDTR_FPD != 0 {
			m.rxTimerExpired() // FPD: immediate expiration (13.4.30)
		}
	case RADV:
		m.radv = v & 0xFFFF
	case TDBAL:
		m.tdbal = v &^ 0xF
	case TDBAH:
		m.tdbah = v
	case TDLEN:
		m.tdlen = v & 0xFFF80
	case TDH:
		m.tdh = v & 0xFFFF
	case TDT:
		m.tdt = v & 0xFFFF
		m.st.TDTWrites++
		m.txProcess()
	case TIDV:
		m.tidv = v & 0xFFFF
	case TADV:
		m.tadv = v & 0xFFFF
	case RXCSUM:
		m.rxcsum = v & (RXCSUM_PCSS_MASK | RXCSUM_IPOFLD | RXCSUM_TUOFLD)
	default:
		if _, ok := m.plain[off]; !ok {
			return false
		}
		m.plain[off] = v
	}
	return true
}

func (m *Model) status() uint32 {
	v := uint32(STATUS_FD | STATUS_SPEED_1000)
	if m.linkUp() {
		v |= STATUS_LU
	}
	return v
}

// plainDefaults lists the registers the model stores without acting on
// them, with their initial values, so that drivers may program them without
// showing up as unknown accesses.
func plainDefaults() map[uint32]uint32 {
	return map[uint32]uint32{
		CTRL_EXT: 0,
		FCAL:     0,
		FCAH:     0,
		FCT:      0,
		VET:      0x8100,
		FCTTV:    0,
		TXCW:     0,
		TIPG:     0,
		LEDCTL:   0,
		PBA:      0x0030, // 48 KB receive, 16 KB transmit packet buffer
		RXDCTL:   0,
		TXDCTL:   0,
	}
}
