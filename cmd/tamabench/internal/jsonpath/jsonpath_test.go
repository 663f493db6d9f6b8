package jsonpath

import (
	"encoding/json"
	"testing"
)

func TestNumber(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(`{"a": {"b": 2.5, "s": "x", "c": {"d": -1}}}`), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want float64
		ok   bool
	}{
		{"a.b", 2.5, true}, {"a.c.d", -1, true},
		{"a.s", 0, false}, {"a", 0, false}, {"a.b.c", 0, false}, {"x.y", 0, false}, {"", 0, false},
	} {
		if v, ok := Number(doc, c.path); v != c.want || ok != c.ok {
			t.Errorf("Number(%q) = %v, %v; want %v, %v", c.path, v, ok, c.want, c.ok)
		}
	}
}
