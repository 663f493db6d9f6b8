package httpparam

import (
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	if n, err := Count("events", "1048576", 1<<20); n != 1<<20 || err != nil {
		t.Errorf("Count at the bound: %d, %v", n, err)
	}
	for _, v := range []string{"1048577", "0", "", "9223372036854775808", "1e3", "-1"} {
		if _, err := Count("events", v, 1<<20); err == nil || !strings.Contains(err.Error(), "events=") {
			t.Errorf("Count(%q): %v, want an error naming the parameter", v, err)
		}
	}
}

func TestLevel(t *testing.T) {
	for v, want := range map[string]int{"": 0, "0": 0, "2": 2} {
		if n, err := Level("debug", v, 2); n != want || err != nil {
			t.Errorf("Level(%q): %d, %v, want %d", v, n, err, want)
		}
	}
	for _, v := range []string{"3", "-1", "x"} {
		if _, err := Level("debug", v, 2); err == nil || !strings.Contains(err.Error(), `debug="`+v+`": want a whole number in [0, 2]`) {
			t.Errorf("Level(%q): %v, want an error naming the parameter and the bound", v, err)
		}
	}
}
