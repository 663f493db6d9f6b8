package compare

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"tamanet/cmd/tamabench/internal/hist"
	"tamanet/cmd/tamabench/internal/result"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		in := append([]float64(nil), c.in...)
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatal("Median modified its input")
			}
		}
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(Ratio(1, 0)) || Ratio(3, 2) != 1.5 {
		t.Fatal("empty median or zero ratio")
	}
}

func file(target string, round int, p50, rps, mbps float64, errs uint64) *result.File {
	h := hist.New()
	h.Record(time.Duration(p50 * 1e3))
	enc, _ := h.Encode()
	return &result.File{Schema: result.Schema, Target: result.Target{Name: target}, Round: round, Tests: []result.Test{
		{Name: "http_keepalive", Kind: result.KindLatency, Count: 1, Errors: errs, HDR: enc,
			Latency: &result.Latency{P50: p50, P90: p50, P99: p50, P999: p50, Max: p50}},
		{Name: "rps_c16", Kind: result.KindRPS, Count: 10, RPS: rps,
			Latency: &result.Latency{P50: p50, P99: p50}},
		{Name: "download", Kind: result.KindBulk, Count: 1, MBps: mbps},
	}}
}

func row(t *testing.T, tab *Table, test, metric string) Row {
	t.Helper()
	for _, r := range tab.Rows {
		if r.Test == test && r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no row %s %s", test, metric)
	return Row{}
}

func TestCompare(t *testing.T) {
	files := []*result.File{
		file("linux", 1, 100, 1000, 30, 0), file("tamanet", 1, 50, 3000, 10, 1),
		file("linux", 2, 300, 2000, 40, 0), file("tamanet", 2, 70, 1000, 20, 0),
		file("linux", 3, 200, 3000, 50, 2), file("tamanet", 3, 60, 2000, 90, 0),
	}
	tab, err := Compare(files, "linux")
	if err != nil {
		t.Fatal(err)
	}
	r := row(t, tab, "http_keepalive", "p50")
	if r.Base != 200 || r.Other != 60 || r.Ratio != 0.3 || r.Better("linux") != "tamanet" ||
		r.BaseRounds != 3 || r.OtherRounds != 3 || r.BaseErrors != 2 || r.Errors != 1 {
		t.Fatalf("p50 row %+v", r)
	}
	if r := row(t, tab, "rps_c16", "rps"); r.Base != 2000 || r.Other != 2000 || r.Ratio != 1 || r.Better("linux") != "=" {
		t.Fatalf("rps row %+v", r)
	}
	if r := row(t, tab, "download", "MB/s"); r.Base != 40 || r.Other != 20 || r.Better("linux") != "linux" {
		t.Fatalf("download row %+v", r)
	}
	if tab.Targets["linux"] != 3 || tab.Targets["tamanet"] != 3 {
		t.Fatalf("rounds %v", tab.Targets)
	}
	var sb strings.Builder
	if err := WriteText(&sb, tab); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "0.30x") || !strings.Contains(sb.String(), "linux=3 tamanet=3") {
		t.Fatalf("text:\n%s", sb.String())
	}
}

func TestCompareNeedsBaseAndOther(t *testing.T) {
	if _, err := Compare([]*result.File{file("tamanet", 1, 1, 1, 1, 0)}, "linux"); err == nil {
		t.Fatal("missing base accepted")
	}
	if _, err := Compare([]*result.File{file("linux", 1, 1, 1, 1, 0)}, "linux"); err == nil {
		t.Fatal("lone base accepted")
	}
}

func TestRowJSONNaN(t *testing.T) {
	b, err := json.Marshal(Row{Test: "x", Ratio: math.NaN()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"ratio":null`) {
		t.Fatalf("got %s", b)
	}
	b, _ = json.Marshal(Row{Ratio: 0.5})
	if !strings.Contains(string(b), `"ratio":0.5`) || strings.Count(string(b), `"ratio"`) != 1 {
		t.Fatalf("got %s", b)
	}
}

func TestMergeHDR(t *testing.T) {
	files := []*result.File{file("linux", 1, 100, 1, 1, 0), file("linux", 2, 300, 1, 1, 0), file("tamanet", 1, 5, 1, 1, 0)}
	h, err := MergeHDR(files, "linux", "http_keepalive")
	if err != nil || h == nil || h.Count() != 2 {
		t.Fatalf("%v %v", h, err)
	}
	if h, _ := MergeHDR(files, "linux", "download"); h != nil {
		t.Fatal("histogram from a test without one")
	}
	files[0].Tests[0].HDR = "garbage"
	if _, err := MergeHDR(files, "linux", "http_keepalive"); err == nil {
		t.Fatal("garbage accepted")
	}
}

// TestCompareCPUCost: the throughput tests get a vCPU and a QEMU cost row
// in their unit, lower is better; a round without a cost (an older file)
// is left out of the median, and latency tests get none.
func TestCompareCPUCost(t *testing.T) {
	files := []*result.File{
		file("linux", 1, 100, 1000, 30, 0), file("tamanet", 1, 50, 1000, 30, 0),
		file("linux", 2, 100, 1000, 30, 0), file("tamanet", 2, 50, 1000, 30, 0),
	}
	cost := func(f *result.File, mb, req float64) {
		f.Find("download").HostCPU = &result.HostCPU{VCPUNS: 1, QEMUNS: 2, VCPUMSPerMB: mb, QEMUMSPerMB: 2 * mb}
		f.Find("rps_c16").HostCPU = &result.HostCPU{VCPUNS: 1, QEMUNS: 2, VCPUUSPerReq: req, QEMUUSPerReq: 2 * req}
	}
	cost(files[0], 40, 300)
	cost(files[1], 10, 100)
	cost(files[3], 30, 200)
	tab, err := Compare(files, "linux")
	if err != nil {
		t.Fatal(err)
	}
	r := row(t, tab, "download", MetricVCPU)
	if r.Unit != "ms/MB" || !r.LowerBetter || r.Base != 40 || r.BaseRounds != 1 || r.Other != 20 || r.OtherRounds != 2 ||
		r.Ratio != 0.5 || r.Better("linux") != "tamanet" {
		t.Fatalf("download vCPU row %+v", r)
	}
	if r := row(t, tab, "download", MetricQEMU); r.Base != 80 || r.Other != 40 {
		t.Fatalf("download QEMU row %+v", r)
	}
	if r := row(t, tab, "rps_c16", MetricQEMU); r.Unit != "µs/req" || r.Base != 600 || r.Other != 300 {
		t.Fatalf("rps QEMU row %+v", r)
	}
	for _, r := range tab.Rows {
		if r.Test == "http_keepalive" && (r.Metric == MetricVCPU || r.Metric == MetricQEMU) {
			t.Fatalf("latency test with a cost row: %+v", r)
		}
	}
	var sb strings.Builder
	if err := WriteText(&sb, tab); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "lower is cheaper") {
		t.Fatalf("no legend for the cost rows:\n%s", sb.String())
	}
	// Files without costs: no rows and no legend.
	tab, _ = Compare(files[2:], "linux")
	sb.Reset()
	WriteText(&sb, tab)
	if strings.Contains(sb.String(), MetricVCPU) {
		t.Fatalf("cost rows without costs:\n%s", sb.String())
	}
}
