package model

// The 82540EM reads a 64-word Microwire EEPROM. Words 00h-02h hold the
// Ethernet address, and word 3Fh is chosen so that words 00h-3Fh sum to
// BABAh (manual chapter 5, EEPROM map and Checksum Word).
const (
	eepromWords    = 64
	eepromChecksum = 0x3F
	eepromSum      = 0xBABA

	eepromSubsystemID = 0x0B
	eepromSubVendorID = 0x0C
	eepromDeviceID    = 0x0D
	eepromVendorID    = 0x0E

	// PCI identity of the 82540EM (QEMU's "e1000").
	VendorIntel     = 0x8086
	Device82540EM   = 0x100E
	eepromUnmapped  = 0xFFFF // reads past the part's last word
	eepromSubsystem = 0x0000 // this model's choice; any value is legal
)

func buildEEPROM(mac [6]byte) [eepromWords]uint16 {
	var w [eepromWords]uint16
	for i := range 3 {
		w[i] = uint16(mac[2*i]) | uint16(mac[2*i+1])<<8
	}
	w[eepromSubsystemID] = eepromSubsystem
	w[eepromSubVendorID] = VendorIntel
	w[eepromDeviceID] = Device82540EM
	w[eepromVendorID] = VendorIntel
	var sum uint16
	for i := range eepromChecksum {
		sum += w[i]
	}
	w[eepromChecksum] = eepromSum - sum
	return w
}

// eerdWrite performs an EERD read (13.4.4). The model's EEPROM answers at
// once, so DONE and DATA are valid on the next read of EERD.
func (m *Model) eerdWrite(v uint32) {
	addr := v >> EERD_ADDR_SHIFT & 0xFF
	if v&EERD_START == 0 {
		m.eerd = addr << EERD_ADDR_SHIFT
		return
	}
	data := uint32(eepromUnmapped)
	if addr < eepromWords {
		data = uint32(m.eeprom[addr])
	}
	m.eerd = data<<EERD_DATA_SHIFT | addr<<EERD_ADDR_SHIFT | EERD_DONE
	m.st.EEPROMReads++
}

// EEPROMWord returns word addr of the model's EEPROM image, for tests.
func (m *Model) EEPROMWord(addr int) uint16 {
	if addr < 0 || addr >= eepromWords {
		return eepromUnmapped
	}
	return m.eeprom[addr]
}
