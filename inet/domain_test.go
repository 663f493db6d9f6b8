package inet

import (
	"strings"
	"testing"
)

func TestCheckDomainName(t *testing.T) {
	long := strings.Repeat("a", 63)
	for name, ok := range map[string]bool{
		"tamanet": true, "web.tamanet.test": true, "_sip._udp.example": true, "x-1.Example.COM": true,
		strings.Join([]string{long, long, long, long[:61]}, "."): true,
		strings.Join([]string{long, long, long, long[:62]}, "."): false,
		"": false, "a..b": false, ".a": false, "a.": false, long + "a": false,
		"a b": false, "a#b": false, "a\nb": false, "é": false,
	} {
		if err := CheckDomainName(name); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", name, err, ok)
		}
	}
}
