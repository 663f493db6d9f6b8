package bootopt

import (
	"fmt"
	"net/netip"
)

// NTPPort is the port of ntp= without one.
const NTPPort = 123

// parseNTP parses ntp=ADDR[:PORT] (an IPv6 address with a port in
// brackets, [ADDR]:PORT): the server's address, not a name, as nothing
// resolves names at boot.
func parseNTP(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return netip.AddrPort{}, fmt.Errorf("port 0")
		}
		return checkNTPAddr(ap)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("want ADDR or ADDR:PORT ([ADDR]:PORT for IPv6), an address and not a name")
	}
	return checkNTPAddr(netip.AddrPortFrom(a, NTPPort))
}

func checkNTPAddr(ap netip.AddrPort) (netip.AddrPort, error) {
	a := ap.Addr()
	switch {
	case a.Zone() != "":
		return netip.AddrPort{}, fmt.Errorf("no zone (link-local servers are reached through the NIC)")
	case !a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLinkLocalUnicast():
		return netip.AddrPort{}, fmt.Errorf("%v is not a unicast address", a)
	}
	return netip.AddrPortFrom(a.Unmap(), ap.Port()), nil
}
