package bootopt

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultAdminAllow is who may reach the admin listener without
// adminallow=: the host as QEMU user networking shows it (its gateway,
// 10.0.2.2, which host port forwards come from) and as qemu.sh's tap mode
// addresses it (tap0 in the namespace).
var DefaultAdminAllow = []netip.Prefix{netip.MustParsePrefix("10.0.2.2/32")}

// parsePort parses a TCP port, 1-65535.
func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("want a TCP port in [1, 65535]")
	}
	return uint16(n), nil
}

// parsePrefixes parses a comma-separated list of address prefixes (IPv4 or
// IPv6; a bare address is a host prefix).
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if strings.Contains(f, "%") {
			return nil, fmt.Errorf("%q: no zone in a prefix", f)
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q: want ADDR/PREFIX or ADDR, comma-separated", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}
