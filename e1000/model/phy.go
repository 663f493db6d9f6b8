package model

// The internal PHY is reached through MDIC at PHY address 1 (8.6.2.4). The
// model keeps the IEEE 802.3 registers a driver commonly reads, answers
// every access at once (MDIC.R), and reflects the cable in the link bits.
// It does not model auto-negotiation: restarting it does not drop the link.
const (
	PHY_CTRL        = 0x00 // PHY Control
	PHY_STATUS      = 0x01 // PHY Status
	PHY_ID1         = 0x02 // PHY Identifier 1
	PHY_ID2         = 0x03 // PHY Identifier 2
	PHY_AUTONEG_ADV = 0x04 // Auto-Negotiation Advertisement
	PHY_LP_ABILITY  = 0x05 // Link Partner Ability
	PHY_1000T_CTRL  = 0x09 // 1000BASE-T Control
	PHY_1000T_STAT  = 0x0A // 1000BASE-T Status
	PHY_SPEC_STATUS = 0x11 // PHY Specific Status

	MII_CR_RESET           = 1 << 15
	MII_CR_RESTART_AUTONEG = 1 << 9
	MII_SR_LINK_STATUS     = 1 << 2
	MII_SR_AUTONEG_DONE    = 1 << 5
)

func phyDefaults() [32]uint16 {
	var p [32]uint16
	p[PHY_CTRL] = 0x1140   // auto-negotiation enabled, full duplex, 1000 Mb/s
	p[PHY_STATUS] = 0x7949 // abilities; link bits are computed on read
	p[PHY_ID1] = 0x0141
	p[PHY_ID2] = 0x0C20
	p[PHY_AUTONEG_ADV] = 0x01E1
	p[PHY_1000T_CTRL] = 0x0300
	return p
}

func (m *Model) phyRead(reg uint32) uint16 {
	v := m.phy[reg]
	if !m.cable {
		if reg == PHY_LP_ABILITY || reg == PHY_1000T_STAT || reg == PHY_SPEC_STATUS {
			return 0
		}
		return v
	}
	switch reg {
	case PHY_STATUS:
		v |= MII_SR_LINK_STATUS | MII_SR_AUTONEG_DONE
	case PHY_LP_ABILITY:
		v = 0x45E1
	case PHY_1000T_STAT:
		v = 0x3C00
	case PHY_SPEC_STATUS:
		v = 0xAC00 // 1000 Mb/s, full duplex, resolved, link
	}
	return v
}

func (m *Model) mdicWrite(v uint32) {
	reg := v >> MDIC_REG_SHIFT & MDIC_REG_MASK
	phyAddr := v >> MDIC_PHY_SHIFT & MDIC_PHY_MASK
	out := v&^(MDIC_R|MDIC_E) | MDIC_R
	switch {
	case phyAddr != MDIC_PHY_ADDRESS:
		out |= MDIC_E
	case v&MDIC_OP_MASK == MDIC_OP_READ:
		out = out&^MDIC_DATA_MASK | uint32(m.phyRead(reg))
	case v&MDIC_OP_MASK == MDIC_OP_WRITE:
		data := uint16(v & MDIC_DATA_MASK)
		if reg == PHY_CTRL {
			data &^= MII_CR_RESET | MII_CR_RESTART_AUTONEG // self-clearing
		}
		if reg != PHY_STATUS && reg != PHY_ID1 && reg != PHY_ID2 {
			m.phy[reg] = data
		}
	default:
		out |= MDIC_E
	}
	m.mdic = out
	if v&MDIC_I != 0 {
		m.setCause(ICR_MDAC)
	}
}
