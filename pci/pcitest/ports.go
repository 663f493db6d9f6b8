package pcitest

import "tamanet/pci"

// Ports is configuration mechanism #1 in front of a Space: the host
// bridge's CONFIG_ADDRESS latch at 0xCF8 and the CONFIG_DATA window at
// 0xCFC. Like the hardware it has one latch and no locking of its own, so
// users must serialise address+data pairs (pci.Mechanism1 does).
type Ports struct {
	space *Space
	addr  uint32
	// Stray counts accesses to other ports, or to CONFIG_DATA while the
	// latch's enable bit is clear.
	Stray int
}

var _ pci.PortIO = (*Ports)(nil)

// NewPorts returns mechanism #1 ports in front of s.
func NewPorts(s *Space) *Ports {
	return &Ports{space: s}
}

// configAddressWritable are the CONFIG_ADDRESS bits that hold a value:
// enable, bus, device, function and dword register number. Bits 30:24 and
// 1:0 are reserved and read as zero.
const configAddressWritable = pci.CONFIG_ADDRESS_ENABLE | 0x00FFFFFC

// Out32 implements pci.PortIO.
func (p *Ports) Out32(port uint16, v uint32) {
	switch {
	case port == pci.CONFIG_ADDRESS:
		p.addr = v & configAddressWritable
	case port == pci.CONFIG_DATA && p.enabled():
		bus, dev, fn, off := p.decode()
		p.space.Write32(bus, dev, fn, off, v)
	default:
		p.Stray++
	}
}

// In32 implements pci.PortIO.
func (p *Ports) In32(port uint16) uint32 {
	switch {
	case port == pci.CONFIG_ADDRESS:
		return p.addr
	case port == pci.CONFIG_DATA && p.enabled():
		bus, dev, fn, off := p.decode()
		return p.space.Read32(bus, dev, fn, off)
	}
	p.Stray++
	return 0xFFFFFFFF
}

func (p *Ports) enabled() bool {
	return p.addr&pci.CONFIG_ADDRESS_ENABLE != 0
}

// decode splits the latch into bus, device, function and register.
func (p *Ports) decode() (bus, dev, fn, off uint8) {
	return uint8(p.addr >> 16), uint8(p.addr>>11) & 0x1F, uint8(p.addr>>8) & 0x7, uint8(p.addr)
}
