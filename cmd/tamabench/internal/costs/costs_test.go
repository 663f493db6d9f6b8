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
		{"virtio", `{"system": {"cost": {"tx_doorbells_per_megabyte": 0, "irqs_per_megabyte": 0},
			"virtio_net": {"tx": {"bytes": 2000000, "notifies": 30}, "rx": {"bytes": 8000000}, "device": {"interrupts": 3}}}}`,
			15, 0.3, "tx.notifies / tx.bytes"},
		{"virtio without its counters falls back to cost", `{"system": {"cost": {"tx_doorbells_per_megabyte": 2, "irqs_per_megabyte": 1},
			"virtio_net": {"tx": {"bytes": 1}}}}`,
			2, 1, "system.cost"},
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
	for _, doc := range []string{`not json`, `{}`, `{"system": {"e1000": {}}}`, `{"system": {"irqs": "many"}}`} {
		if r, err := Read([]byte(doc)); err == nil {
			t.Errorf("Read(%s) = %+v, no error", doc, r)
		}
	}
}
