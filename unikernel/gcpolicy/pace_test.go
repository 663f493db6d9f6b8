package gcpolicy

import "testing"

func TestFor(t *testing.T) {
	for _, c := range []struct {
		gogc int
		want Pace
		str  string
	}{
		{0, Pace{GOGC: -1, MemoryLimit: 384 << 20}, "off (memory limit 384 MiB)"},
		{-5, Pace{GOGC: -1, MemoryLimit: 384 << 20}, "off (memory limit 384 MiB)"},
		{150, Pace{GOGC: 150, MemoryLimit: 384 << 20}, "150"},
	} {
		p := For(c.gogc, 768<<20)
		if p != c.want || p.String() != c.str {
			t.Errorf("For(%d, 768 MiB) = %+v %q, want %+v %q", c.gogc, p, p, c.want, c.str)
		}
	}
}
