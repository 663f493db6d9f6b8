package e1000

import "fmt"

// maxMulticast bounds the multicast list. The MTA is a hash, so this is
// only a guard against unbounded growth.
const maxMulticast = 1024

// mtaHash is the 12-bit MTA index of a multicast address with RCTL.MO = 00:
// destination address bits 47:36 (13.5.1), that is the high nibble of byte 4
// and all of byte 5 in wire order.
func mtaHash(addr [6]byte) uint16 {
	return uint16(addr[4])>>4 | uint16(addr[5])<<4
}

// SetMAC changes the station address in RAL0/RAH0. It returns ErrBadMAC for
// a multicast or all-zero address. The address survives resets.
func (d *Device) SetMAC(mac [6]byte) error {
	if !validUnicast(mac) {
		return fmt.Errorf("%w: %s", ErrBadMAC, macString(mac))
	}
	d.filterMu.Lock()
	defer d.filterMu.Unlock()
	d.mac = mac
	// Invalidate the entry first so no frame is matched against half an
	// address.
	d.regs.Write32(RAH0, 0)
	d.writeRA0()
	return nil
}

// AddMulticast accepts frames to the multicast group addr through the MTA
// hash filter. Adding an address already present does nothing. Other
// groups that share its hash bit are accepted too; the stack filters those.
func (d *Device) AddMulticast(addr [6]byte) error {
	if addr[0]&1 == 0 {
		return fmt.Errorf("%w: %s", ErrNotMulticast, macString(addr))
	}
	d.filterMu.Lock()
	defer d.filterMu.Unlock()
	for _, a := range d.mcast {
		if a == addr {
			return nil
		}
	}
	if len(d.mcast) >= maxMulticast {
		return fmt.Errorf("%w: %d addresses", ErrFilterFull, maxMulticast)
	}
	d.mcast = append(d.mcast, addr)
	d.syncMTA()
	return nil
}

// RemoveMulticast stops accepting the group addr. Its hash bit is cleared
// only if no remaining group shares it. It returns ErrNotFound if addr was
// not added.
func (d *Device) RemoveMulticast(addr [6]byte) error {
	d.filterMu.Lock()
	defer d.filterMu.Unlock()
	for i, a := range d.mcast {
		if a == addr {
			d.mcast = append(d.mcast[:i], d.mcast[i+1:]...)
			d.syncMTA()
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrNotFound, macString(addr))
}

// SetPromiscuous turns unicast and multicast promiscuous reception
// (RCTL.UPE and RCTL.MPE) on or off. The setting survives resets. RCTL is
// written only if the setting changes.
func (d *Device) SetPromiscuous(on bool) {
	d.filterMu.Lock()
	defer d.filterMu.Unlock()
	d.promisc = on
	d.setRCTL(d.rctl())
}

// writeRA0 programs receive address 0 with the station address and AV.
// Called with filterMu held.
func (d *Device) writeRA0() {
	m := d.mac
	d.regs.Write32(RAL0, uint32(m[0])|uint32(m[1])<<8|uint32(m[2])<<16|uint32(m[3])<<24)
	d.regs.Write32(RAH0, uint32(m[4])|uint32(m[5])<<8|RAH_AV)
}

// syncMTA rebuilds the table from the multicast list and writes the
// registers that changed. Called with filterMu held.
func (d *Device) syncMTA() {
	var t [MTASize]uint32
	for _, a := range d.mcast {
		h := mtaHash(a)
		t[h>>5] |= 1 << (h & 31)
	}
	for i := range t {
		if t[i] != d.mta[i] {
			d.mta[i] = t[i]
			d.regs.Write32(MTA+4*uint32(i), t[i])
		}
	}
}

// writeAddressFilters programs the receive addresses and the whole MTA
// after a reset, which leaves their contents undefined: entry 0 holds the
// station address, the other entries are invalidated. Called with filterMu
// held.
func (d *Device) writeAddressFilters() {
	d.writeRA0()
	for n := uint32(1); n < RASize; n++ {
		d.regs.Write32(RAH0+8*n, 0)
		d.regs.Write32(RAL0+8*n, 0)
	}
	for i, v := range d.mta {
		d.regs.Write32(MTA+4*uint32(i), v)
	}
}
