package dhcpclient

import (
	"fmt"
	"strings"

	"tamanet/inet"
)

// Limits on the names the Domain Search (119) option carries: a name's
// wire form (RFC 1035 section 2.3.4), and how many search domains a lease
// may bring.
const (
	maxNameWire    = 255
	MaxSearchNames = 32
)

// parseDomainName reads the Domain Name option (RFC 2132 section 3.17): the
// name as text. Trailing NULs (some servers count a C string's terminator)
// and the root's final dot are dropped.
func parseDomainName(b []byte) (string, error) {
	name := strings.TrimSuffix(strings.TrimRight(string(b), "\x00"), ".")
	if err := inet.CheckDomainName(name); err != nil {
		return "", fmt.Errorf("domain name option %q: %w", b, err)
	}
	return name, nil
}

// parseSearchList reads the Domain Search option (RFC 3397): names in DNS
// wire form one after the other, which may be compressed with pointers
// (RFC 1035 section 4.1.4) whose offsets count from the start of the
// option's data, its parts concatenated (RFC 3396). A pointer must point
// before the name it is in began (before the previous pointer's target,
// after one was followed), so no name can loop; a name longer than 255 bytes, a
// label type other than length or pointer, a name cut short and more than
// MaxSearchNames names are errors.
func parseSearchList(b []byte) ([]string, error) {
	var names []string
	for off := 0; off < len(b); {
		if len(names) == MaxSearchNames {
			return nil, fmt.Errorf("domain search option: more than %d names", MaxSearchNames)
		}
		name, next, err := readName(b, off)
		if err != nil {
			return nil, fmt.Errorf("domain search option, name %d at byte %d: %w", len(names)+1, off, err)
		}
		if name == "" {
			return nil, fmt.Errorf("domain search option, name %d at byte %d: the root, not a domain", len(names)+1, off)
		}
		if err := inet.CheckDomainName(name); err != nil {
			return nil, fmt.Errorf("domain search option, name %d %q: %w", len(names)+1, name, err)
		}
		names = append(names, name)
		off = next
	}
	return names, nil
}

// readName reads the wire-form name at off in b and returns it in
// presentation form without the final dot, and the offset just past it
// (past its first pointer, if it has one).
func readName(b []byte, off int) (name string, next int, err error) {
	var labels []string
	wire := 1 // the root's zero length
	next = -1
	limit := off // pointers must go below it: targets strictly decrease
	for pos := off; ; {
		if pos >= len(b) {
			return "", 0, fmt.Errorf("cut short at byte %d", pos)
		}
		n := int(b[pos])
		switch n & 0xC0 {
		case 0x00: // a label of n bytes; 0 ends the name
			if n == 0 {
				if next < 0 {
					next = pos + 1
				}
				return strings.Join(labels, "."), next, nil
			}
			if pos+1+n > len(b) {
				return "", 0, fmt.Errorf("label at byte %d runs past the end", pos)
			}
			if wire += 1 + n; wire > maxNameWire {
				return "", 0, fmt.Errorf("longer than %d bytes", maxNameWire)
			}
			labels = append(labels, string(b[pos+1:pos+1+n]))
			pos += 1 + n
		case 0xC0: // a pointer to an earlier name's tail
			if pos+1 >= len(b) {
				return "", 0, fmt.Errorf("pointer at byte %d cut short", pos)
			}
			to := (n&0x3F)<<8 | int(b[pos+1])
			if to >= limit {
				return "", 0, fmt.Errorf("pointer at byte %d to byte %d, not before byte %d (a loop or a forward reference)", pos, to, limit)
			}
			if next < 0 {
				next = pos + 2
			}
			pos, limit = to, to
		default:
			return "", 0, fmt.Errorf("label type %#x at byte %d (only lengths and pointers exist)", n&0xC0, pos)
		}
	}
}
