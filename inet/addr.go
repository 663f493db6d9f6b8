package inet

import (
	"encoding/binary"
	"net/netip"
)

// Broadcast is the last address of an IPv4 prefix: its host bits all ones.
func Broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(b[:]) | (uint32(1)<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}
