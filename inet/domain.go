package inet

import (
	"fmt"
	"strings"
)

// Limits of a domain name written out (RFC 1035 section 2.3.4: 255 bytes
// on the wire are 253 characters) and of one label.
const (
	MaxDomainName = 253
	maxLabel      = 63
)

// CheckDomainName accepts a domain name (without the final dot) that
// resolv.conf, /etc/hosts and Go's resolver can take as it is: labels of 1 to 63 letters, digits, hyphens and
// underscores (RFC 1123 host names, plus the underscore of service names),
// 253 characters at most. Anything else (a space, '#', a control byte)
// would end or corrupt the line it is written on.
func CheckDomainName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty")
	case len(name) > MaxDomainName:
		return fmt.Errorf("%d characters, longer than %d", len(name), MaxDomainName)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return fmt.Errorf("an empty label")
		}
		if len(label) > maxLabel {
			return fmt.Errorf("label of %d characters, longer than %d", len(label), maxLabel)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("byte %q in label %q (letters, digits, '-' and '_' only)", c, label)
			}
		}
	}
	return nil
}
