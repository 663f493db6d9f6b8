package expose

import (
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Sample is one metric of a tree, as Samples finds it.
type Sample struct {
	// Name is the full metric name (namespace, path keys, "_total" for
	// counters, "_info" for info gauges).
	Name string
	// Path is where the value sits in the /stats document, with "[]" for
	// the elements of a collection, e.g. "system.irq.lines[].count".
	Path        string
	Kind        Kind // KindCounter, KindGauge or KindHistogram
	LabelNames  []string
	LabelValues []string
	Value       float64
	Hist        *HistogramValue
}

// Samples lists the metrics of tree, named under namespace. path is the
// tree's own place in the /stats document ("" for its root).
func Samples(tree *Node, namespace, path string) []Sample {
	var out []Sample
	w := sampler{out: &out}
	w.walk(tree, []string{namespace}, nil, path)
	return out
}

type label struct{ name, value string }

type sampler struct{ out *[]Sample }

func (w sampler) walk(n *Node, parts []string, labels []label, path string) {
	switch n.Kind {
	case KindGroup:
		// This struct's label fields label everything in it.
		for _, c := range n.Children {
			if c.IsLabel {
				labels = append(labels[:len(labels):len(labels)], label{c.Key, scalarString(c.Value)})
			}
		}
		for _, c := range n.Children {
			switch {
			case c.IsLabel:
			case c.Kind == KindText && c.InfoLabel != "":
				w.emit(Sample{Name: metricName(append(parts, c.Key, "info")), Path: join(path, c.Key),
					Kind: KindGauge, Value: 1}, append(labels[:len(labels):len(labels)], label{c.InfoLabel, c.Value.(string)}))
			case c.Kind == KindText:
			default:
				w.walk(c, append(parts[:len(parts):len(parts)], c.Key), labels, join(path, c.Key))
			}
		}
	case KindList, KindMap:
		for _, c := range n.Children {
			w.walk(c, parts, append(labels[:len(labels):len(labels)], label{n.LabelName, c.Key}), path+"[]")
		}
	case KindCounter:
		name := metricName(parts)
		if !strings.HasSuffix(name, "_total") {
			name += "_total"
		}
		w.emit(Sample{Name: name, Path: path, Kind: KindCounter, Value: number(n.Value)}, labels)
	case KindGauge:
		w.emit(Sample{Name: metricName(parts), Path: path, Kind: KindGauge, Value: number(n.Value)}, labels)
	case KindHistogram:
		w.emit(Sample{Name: metricName(parts), Path: path, Kind: KindHistogram, Hist: n.Hist}, labels)
	}
}

func (w sampler) emit(s Sample, labels []label) {
	for _, l := range labels {
		s.LabelNames = append(s.LabelNames, l.name)
		s.LabelValues = append(s.LabelValues, l.value)
	}
	*w.out = append(*w.out, s)
}

func number(v any) float64 {
	switch x := v.(type) {
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case uint64:
		return strconv.FormatUint(x, 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatFloat(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// Collector is a prometheus.Collector over a statistics snapshot: every
// scrape takes a snapshot, builds its tree and sends its Samples as
// constant metrics. It is unchecked (Describe sends nothing), as the set of
// metrics follows the snapshot: interrupt lines, map keys.
type Collector struct {
	namespace, path string
	snapshot        func() any
}

// NewCollector returns a Collector naming metrics under namespace whose
// snapshot sits at path in the /stats document (HELP texts give the path).
func NewCollector(namespace, path string, snapshot func() any) *Collector {
	return &Collector{namespace: namespace, path: path, snapshot: snapshot}
}

// Describe implements prometheus.Collector; it sends nothing.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector. Values the tree left out, and
// metrics the client library refuses, reach the registry as invalid
// metrics, so the scrape reports them.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	tree, err := Build(c.snapshot())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewDesc(c.namespace+"_stats_error", "statistics that could not be exposed", nil, nil), err)
	}
	for _, s := range Samples(tree, c.namespace, c.path) {
		ch <- s.metric()
	}
}

func (s Sample) metric() prometheus.Metric {
	desc := prometheus.NewDesc(s.Name, "/stats "+s.Path, s.LabelNames, nil)
	var m prometheus.Metric
	var err error
	switch s.Kind {
	case KindCounter:
		m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, s.Value, s.LabelValues...)
	case KindGauge:
		m, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, s.Value, s.LabelValues...)
	case KindHistogram:
		h := s.Hist
		buckets := make(map[float64]uint64, len(h.Upper))
		var below uint64
		for i, le := range h.Upper {
			below += h.Counts[i]
			buckets[le] = below
		}
		if len(h.Upper) > 0 && math.IsInf(h.Upper[len(h.Upper)-1], 1) {
			delete(buckets, math.Inf(1)) // implied by the count
		}
		m, err = prometheus.NewConstHistogram(desc, h.Count(), h.Sum, buckets, s.LabelValues...)
	}
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}
