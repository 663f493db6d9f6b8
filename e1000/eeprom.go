package e1000

import "fmt"

// EEPROM layout (5.6): words 0-2 hold the Ethernet address, and words
// 0x00-0x3F sum to eepromSum.
const (
	eepromMACWord     = 0x00
	eepromChecksumEnd = 0x3F
	eepromSum         = 0xBABA
)

// eerdPolls bounds the wait for EERD.DONE. Each poll is a register read (a VM
// exit under QEMU, which completes reads at once); a real 82540EM finishes a
// word in well under this many reads.
const eerdPolls = 100000

// readEEPROM reads one 16-bit EEPROM word through EERD (13.4.4).
func (d *Device) readEEPROM(word uint8) (uint16, error) {
	d.regs.Write32(EERD, uint32(word)<<EERD_ADDR_SHIFT|EERD_START)
	for range eerdPolls {
		if v := d.regs.Read32(EERD); v&EERD_DONE != 0 {
			return uint16(v >> EERD_DATA_SHIFT), nil
		}
	}
	return 0, fmt.Errorf("%w: word %#x", ErrEEPROMTimeout, word)
}

// readMAC validates the EEPROM checksum and returns the factory station
// address, stored little endian in words 0-2.
func (d *Device) readMAC() ([6]byte, error) {
	var mac [6]byte
	var sum uint16
	for w := 0; w <= eepromChecksumEnd; w++ {
		v, err := d.readEEPROM(uint8(w))
		if err != nil {
			return mac, err
		}
		sum += v
		if i := w - eepromMACWord; i >= 0 && i < 3 {
			mac[2*i] = byte(v)
			mac[2*i+1] = byte(v >> 8)
		}
	}
	if sum != eepromSum {
		return mac, fmt.Errorf("%w: words 0-%#x sum to %#04x, want %#04x",
			ErrEEPROMChecksum, eepromChecksumEnd, sum, eepromSum)
	}
	if !validUnicast(mac) {
		return mac, fmt.Errorf("%w: EEPROM holds %s", ErrBadMAC, macString(mac))
	}
	return mac, nil
}

// validUnicast reports whether mac can be a station address: not multicast
// (I/G bit clear) and not all zeros.
func validUnicast(mac [6]byte) bool {
	return mac[0]&1 == 0 && mac != [6]byte{}
}

// macString formats mac as aa:bb:cc:dd:ee:ff.
func macString(mac [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
}
