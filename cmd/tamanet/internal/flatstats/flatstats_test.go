package flatstats

import (
	"maps"
	"math"
	"strings"
	"testing"
)

type inner struct {
	Packets uint64
	Hist    [3]uint64
	Up      bool
	Name    string
}

type doc struct {
	Dev   inner             `json:"dev"`
	Stack map[string]uint64 `json:"stack"`
	Max   uint64            `json:"max"`
	Off   bool              `json:"off"`
	Ptr   *inner            `json:"ptr"`
}

func TestFlatten(t *testing.T) {
	got, err := Flatten(doc{
		Dev:   inner{Packets: 7, Hist: [3]uint64{1, 0, 5}, Up: true, Name: "e1000"},
		Stack: map[string]uint64{"TCP.Resets": 2},
		Max:   math.MaxUint64,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		"dev.Packets": 7, "dev.Hist.0": 1, "dev.Hist.1": 0, "dev.Hist.2": 5, "dev.Up": 1,
		"stack.TCP.Resets": 2, "max": math.MaxUint64, "off": 0,
	}
	if !maps.Equal(got, want) {
		t.Fatalf("Flatten = %v\nwant %v", got, want)
	}
}

func TestFlattenRejectsSignedAndFractional(t *testing.T) {
	got, err := Flatten(map[string]any{"neg": -1, "frac": 0.5, "ok": 3})
	if err == nil || !strings.Contains(err.Error(), "neg = -1") || !strings.Contains(err.Error(), "frac = 0.5") {
		t.Fatalf("error %v, want both bad paths named", err)
	}
	if !maps.Equal(got, map[string]uint64{"ok": 3}) {
		t.Fatalf("kept %v, want only ok", got)
	}
}

func TestFlattenUnencodable(t *testing.T) {
	if _, err := Flatten(map[string]any{"f": func() {}}); err == nil {
		t.Fatal("no error for a value encoding/json refuses")
	}
}
