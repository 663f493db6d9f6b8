// Package plot draws tamabench's figures with gonum.org/v1/plot: latency
// CDFs, latency by percentile (HdrHistogram's percentile distribution) and
// requests per second against concurrency, and time series (a soak run).
// The file name's extension (.png or .svg) picks the format.
package plot

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"tamanet/cmd/tamabench/internal/hist"
)

// Figure size.
const (
	width  = 8 * vg.Inch
	height = 5 * vg.Inch
)

// Curve is one labelled latency distribution.
type Curve struct {
	Label  string
	Points []hist.Point
	// Count is the number of values behind Points. The percentile plot
	// ends at the finest percentile they resolve, 1 - 1/Count, where it
	// draws the maximum.
	Count int64
}

// LatencyCDF draws the curves with latency on a logarithmic x axis, in
// microseconds, and the fraction of requests at or below it on y.
func LatencyCDF(path, title string, curves []Curve) error {
	p := newPlot(title, "latency (µs, log scale)", "fraction of requests ≤ latency")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top, p.Legend.Left = false, false
	var args []any
	for _, c := range curves {
		if len(c.Points) == 0 {
			continue
		}
		xys := make(plotter.XYs, 0, len(c.Points)+1)
		// Start the step at zero just left of the first value.
		xys = append(xys, plotter.XY{X: c.Points[0].US, Y: 0})
		for _, pt := range c.Points {
			xys = append(xys, plotter.XY{X: math.Max(pt.US, 1e-3), Y: pt.Q})
		}
		args = append(args, c.Label, xys)
	}
	if len(args) == 0 {
		return fmt.Errorf("plot %s: no latency data", path)
	}
	if err := plotutil.AddLines(p, args...); err != nil {
		return err
	}
	return save(p, path)
}

// LatencyPercentiles draws latency (µs, log scale) against percentile on
// HdrHistogram's axis: log scale of 1/(1-p), so 90%, 99%, 99.9% and 99.99%
// are equally spaced and the tail, which a CDF squeezes against 1, gets as
// much room as the body. Each curve is a step function that ends with its
// maximum at 1 - 1/Count.
func LatencyPercentiles(path, title string, curves []Curve) error {
	p := newPlot(title, "percentile (log scale of 1/(1-p))", "latency (µs, log scale)")
	p.X.Scale = plot.LogScale{}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	var args []any
	widest := 1.0
	for _, c := range curves {
		xys := percentileSteps(c)
		if len(xys) == 0 {
			continue
		}
		widest = math.Max(widest, xys[len(xys)-1].X)
		args = append(args, c.Label, xys)
	}
	if len(args) == 0 {
		return fmt.Errorf("plot %s: no latency data", path)
	}
	p.X.Min, p.X.Max = 1, widest
	p.X.Tick.Marker = percentileTicks(widest)
	if err := plotutil.AddLines(p, args...); err != nil {
		return err
	}
	return save(p, path)
}

// percentileSteps turns a CDF into steps of latency against 1/(1-p): the
// values of a bucket hold the percentiles from the fraction below it to the
// fraction at or below it. Fractions are capped at 1 - 1/Count, the finest
// percentile Count values resolve (1/(1-p) = Count).
func percentileSteps(c Curve) plotter.XYs {
	if len(c.Points) == 0 || c.Count < 1 {
		return nil
	}
	top := float64(c.Count)
	x := func(q float64) float64 {
		if q >= 1 {
			return top
		}
		return math.Min(1/(1-q), top)
	}
	xys := make(plotter.XYs, 0, 2*len(c.Points))
	below := 0.0
	for _, pt := range c.Points {
		y := math.Max(pt.US, 1e-3) // log scale: no zero
		xys = append(xys, plotter.XY{X: x(below), Y: y}, plotter.XY{X: x(pt.Q), Y: y})
		below = pt.Q
	}
	return xys
}

// percentileTicks labels 1/(1-p) at 0%, 90%, 99%, ... up to widest.
func percentileTicks(widest float64) plot.ConstantTicks {
	ticks := plot.ConstantTicks{{Value: 1, Label: "0%"}}
	for nines := 1; ; nines++ {
		v := math.Pow(10, float64(nines))
		if v > widest*1.0001 {
			break
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: ninesLabel(nines)})
	}
	return ticks
}

// ninesLabel names the percentile 1 - 10^-n: 90%, 99%, 99.9%, ...
func ninesLabel(n int) string {
	switch n {
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", n-2) + "%"
}

// Series is one labelled line of Throughput: Y[i] requests/s at
// concurrency X[i].
type Series struct {
	Label string
	X, Y  []float64
}

// Throughput draws requests per second against concurrency (log2 axis with
// a tick at every measured concurrency).
func Throughput(path, title string, series []Series) error {
	p := newPlot(title, "concurrent connections", "requests/s")
	p.X.Scale = plot.LogScale{}
	p.Y.Min = 0
	p.Legend.Top = true
	args, top := lines(series)
	if len(args) == 0 {
		return fmt.Errorf("plot %s: no throughput data", path)
	}
	ticks := map[float64]bool{}
	for _, s := range series {
		for _, x := range s.X {
			ticks[x] = true
		}
	}
	var marks plot.ConstantTicks
	for x := range ticks {
		marks = append(marks, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', -1, 64)})
	}
	p.X.Tick.Marker = marks
	p.Y.Max = 1.15 * top // headroom for the legend
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	return save(p, path)
}

// TimeSeries draws values against seconds since a start (Series.X), one
// line per series, with a shaded band for each span in marks (e.g. link
// flaps) as [start, end] seconds pairs.
func TimeSeries(path, title, yLabel string, series []Series, marks [][2]float64) error {
	p := newPlot(title, "seconds", yLabel)
	p.Y.Min = 0
	p.Legend.Top = true
	args, top := lines(series)
	if len(args) == 0 {
		return fmt.Errorf("plot %s: no data", path)
	}
	p.Y.Max = 1.25*top + 1 // headroom for the legend
	for _, m := range marks {
		band, err := plotter.NewPolygon(plotter.XYs{{X: m[0], Y: 0}, {X: m[1], Y: 0}, {X: m[1], Y: p.Y.Max}, {X: m[0], Y: p.Y.Max}})
		if err != nil {
			return err
		}
		band.Color = color.Gray{Y: 225}
		band.LineStyle.Width = 0
		p.Add(band)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	return save(p, path)
}

// lines turns series into plotutil.AddLinePoints arguments (label, points,
// ...), skipping empty or ragged ones, and returns the largest Y.
func lines(series []Series) (args []any, top float64) {
	for _, s := range series {
		if len(s.X) == 0 || len(s.X) != len(s.Y) {
			continue
		}
		xys := make(plotter.XYs, len(s.X))
		for i := range s.X {
			xys[i] = plotter.XY{X: s.X[i], Y: s.Y[i]}
			top = math.Max(top, s.Y[i])
		}
		args = append(args, s.Label, xys)
	}
	return args, top
}

// newPlot returns a plot with a title, axis labels and a grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	return p
}

func save(p *plot.Plot, path string) error {
	switch filepath.Ext(path) {
	case ".png", ".svg":
	default:
		return fmt.Errorf("plot %s: want a .png or .svg file", path)
	}
	return p.Save(width, height, path)
}
