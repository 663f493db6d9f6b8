package costs

import (
	"math"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	for _, c := range []struct {
		name, doc    string
		notes, irqs  float64 // NaN: not reported
		fromContains string
	}{
		{"e1000", `{"system": {"cost": {"tx_doorbells_per_megabyte": 16.5, "irqs_per_megabyte": 4.25}, "e1000": {}}}`,
			16.5, 4.25, "system.cost"},
		{"virtio", `{"system": {"cost": {"tx_doorbells_per_megabyte": 15, "irqs_per_megabyte": 0.3},
			"nic_totals": {"tx_bytes": 2000000, "tx_doorbells": 30}, "virtio_net": {}}}`,
			15, 0.3, "system.cost"},
		{"linux", `{"name": "linux", "system": {"interface": "eth0", "irqs": 50, "counters": {"tx_bytes": 90000000, "rx_bytes": 10000000}}}`,
			math.NaN(), 0.5, "system.irqs"},
		{"nothing moved", `{"system": {"irqs": 5, "counters": {"tx_bytes": 0, "rx_bytes": 0}}}`,
			math.NaN(), 0, "system.irqs"},
	} {
		r, err := Read([]byte(c.doc))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !same(r.NotificationsPerMB, c.notes) || !same(r.IRQsPerMB, c.irqs) || !strings.Contains(r.From, c.fromContains) {
			t.Errorf("%s: %+v; want notifications %v, irqs %v, from ...%s...", c.name, r, c.notes, c.irqs, c.fromContains)
		}
	}
}

func same(a, b float64) bool {
	if math.IsNaN(b) {
		return math.IsNaN(a)
	}
	return math.Abs(a-b) < 1e-9
}

func TestReadRefuses(t *testing.T) {
	for _, doc := range []string{`not json`, `{}`, `{"system": {"e1000": {}, "cost": {"irqs_per_megabyte": 1}}}`, `{"system": {"irqs": "many"}}`} {
		if r, err := Read([]byte(doc)); err == nil {
			t.Errorf("Read(%s) = %+v, no error", doc, r)
		}
	}
}
