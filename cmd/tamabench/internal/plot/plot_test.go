package plot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tamanet/cmd/tamabench/internal/hist"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func curve(label string, us ...int) Curve {
	h := hist.New()
	for _, u := range us {
		h.Record(time.Duration(u) * time.Microsecond)
	}
	return Curve{Label: label, Points: h.CDF(), Count: h.Count()}
}

func TestLatencyCDFPNGAndSVG(t *testing.T) {
	dir := t.TempDir()
	curves := []Curve{curve("linux", 100, 120, 900), curve("tamanet", 40, 41, 300)}
	png := filepath.Join(dir, "cdf.png")
	if err := LatencyCDF(png, "keep-alive GET /", curves); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, pngMagic) || len(b) < 1000 {
		t.Fatalf("not a PNG: %d bytes, %v", len(b), err)
	}
	svg := filepath.Join(dir, "cdf.svg")
	if err := LatencyCDF(svg, "x", curves); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(svg)
	if err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "tamanet") {
		t.Fatalf("not an SVG with the legend: %v", err)
	}
}

func TestLatencyPercentilesPNGAndSVG(t *testing.T) {
	dir := t.TempDir()
	us := make([]int, 0, 2000)
	for i := range 2000 {
		us = append(us, 100+i%50)
	}
	us[1999] = 40000 // one outlier: the max must be drawn, not squeezed
	curves := []Curve{curve("linux", us...), curve("tamanet", 40, 41, 300)}
	png := filepath.Join(dir, "pct.png")
	if err := LatencyPercentiles(png, "keep-alive GET /", curves); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, pngMagic) || len(b) < 1000 {
		t.Fatalf("not a PNG: %d bytes, %v", len(b), err)
	}
	svg := filepath.Join(dir, "pct.svg")
	if err := LatencyPercentiles(svg, "x", curves); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	// 2000 values resolve 99.9% (1/(1-p) = 1000) but not 99.99%.
	for _, want := range []string{"tamanet", "90%", "99%", "99.9%"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(string(b), "99.99%") {
		t.Error("SVG has a 99.99% tick that 2000 values cannot resolve")
	}
	if err := LatencyPercentiles(filepath.Join(dir, "e.png"), "", []Curve{{Label: "x"}}); err == nil {
		t.Error("empty curve accepted")
	}
}

func TestPercentileSteps(t *testing.T) {
	// 10 values: 9 at 100 µs, 1 at 5000 µs. The body holds p in [0, 0.9],
	// x in [1, 10]; the max is drawn at 1 - 1/10, x = 10.
	us := []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 5000}
	xys := percentileSteps(curve("x", us...))
	if len(xys) != 4 {
		t.Fatalf("steps %v", xys)
	}
	near := func(a, b float64) bool { return a > b*0.99 && a < b*1.01 }
	if !near(xys[0].X, 1) || !near(xys[1].X, 10) || !near(xys[0].Y, 100) || !near(xys[1].Y, 100) {
		t.Errorf("body step %v %v", xys[0], xys[1])
	}
	if !near(xys[2].X, 10) || !near(xys[3].X, 10) || !near(xys[3].Y, 5000) {
		t.Errorf("max step %v %v", xys[2], xys[3])
	}
	for i, n := range map[int]string{1: "90%", 2: "99%", 3: "99.9%", 5: "99.999%"} {
		if got := ninesLabel(i); got != n {
			t.Errorf("ninesLabel(%d) = %s, want %s", i, got, n)
		}
	}
}

func TestThroughputPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rps.png")
	err := Throughput(path, "rps", []Series{
		{Label: "linux", X: []float64{1, 4, 16, 64}, Y: []float64{100, 300, 350, 340}},
		{Label: "tamanet", X: []float64{1, 4, 16, 64}, Y: []float64{200, 500, 700, 720}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, pngMagic) {
		t.Fatalf("not a PNG: %v", err)
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	if err := LatencyCDF(filepath.Join(dir, "a.png"), "", nil); err == nil {
		t.Error("empty CDF accepted")
	}
	if err := Throughput(filepath.Join(dir, "b.png"), "", []Series{{Label: "x", X: []float64{1}}}); err == nil {
		t.Error("mismatched series accepted")
	}
	if err := LatencyCDF(filepath.Join(dir, "c.jpg"), "", []Curve{curve("x", 1)}); err == nil {
		t.Error("jpg accepted")
	}
}

func TestTimeSeries(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "soak.svg")
	series := []Series{{Label: "heap MiB", X: []float64{0, 10, 20}, Y: []float64{5, 6, 5.5}}}
	if err := TimeSeries(svg, "soak", "MiB", series, [][2]float64{{12, 15}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !strings.Contains(string(b), "heap MiB") {
		t.Fatalf("svg %d bytes, %v", len(b), err)
	}
	if err := TimeSeries(svg, "soak", "MiB", nil, nil); err == nil {
		t.Error("no error for no data")
	}
}
