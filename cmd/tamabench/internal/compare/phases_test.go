package compare

import (
	"strings"
	"testing"

	"tamanet/cmd/tamabench/internal/result"
)

func bootFile(target string, round int, first200 float64, phases ...result.Phase) *result.File {
	return &result.File{Schema: result.Schema, Target: result.Target{Name: target}, Round: round, Tests: []result.Test{
		{Name: "boot", Kind: result.KindBoot, Count: 1, ElapsedMS: first200, Phases: phases},
	}}
}

func TestBootPhases(t *testing.T) {
	files := []*result.File{
		bootFile("linux", 1, 8000), // no phases: left out
		bootFile("tamanet", 1, 1300, result.Phase{Name: "vm_start", MS: 60}, result.Phase{Name: "rx_enabled", MS: 280}),
		bootFile("tamanet", 2, 1200, result.Phase{Name: "vm_start", MS: 40}, result.Phase{Name: "rx_enabled", MS: 200}),
		bootFile("tamanet", 3, 1250, result.Phase{Name: "vm_start", MS: 50}, result.Phase{Name: "rx_enabled", MS: 240}),
	}
	got := BootPhases(files)
	want := []PhaseRow{
		{Target: "tamanet", Phase: "vm_start", MS: 50, Rounds: 3},
		{Target: "tamanet", Phase: "rx_enabled", MS: 240, Rounds: 3},
		{Target: "tamanet", Phase: PhaseFirst200, MS: 1250, Rounds: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	var b strings.Builder
	if err := WritePhases(&b, got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "+1010.0") {
		t.Errorf("no step from rx_enabled to the first 200 in:\n%s", b.String())
	}
}
