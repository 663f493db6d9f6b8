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
	return Curve{Label: label, Points: h.CDF()}
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
