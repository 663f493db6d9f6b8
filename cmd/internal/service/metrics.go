package service

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// MetricType is a Prometheus metric type.
type MetricType string

// The metric types the service exposes.
const (
	Counter MetricType = "counter"
	Gauge   MetricType = "gauge"
)

// Label is one name="value" pair of a sample.
type Label struct {
	Name, Value string
}

// Metric is one sample. Samples with the same Name form a family, which must
// share one Type; the first non-empty Help of a family is its HELP line.
type Metric struct {
	Name   string
	Help   string
	Type   MetricType
	Labels []Label
	Value  uint64
}

// CounterMetrics turns a map of named counters into counter samples named
// prefix+key, sorted by key. Characters not allowed in a metric name become
// '_', so a key like "e1000.rx_packets" is exposed as "<prefix>e1000_rx_packets".
func CounterMetrics(prefix string, m map[string]uint64) []Metric {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Metric, 0, len(keys))
	for _, k := range keys {
		out = append(out, Metric{Name: SanitizeName(prefix + k), Type: Counter, Value: m[k]})
	}
	return out
}

// SanitizeName maps s onto the metric name alphabet [a-zA-Z_:][a-zA-Z0-9_:]*
// by replacing every other byte with '_' and prefixing '_' to a leading digit.
func SanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !nameByte(c, i == 0) && !(i == 0 && isDigit(c)) {
			b[i] = '_'
		}
	}
	if len(b) == 0 || isDigit(b[0]) {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}

// WritePrometheus writes ms in the Prometheus text exposition format
// (version 0.0.4). It checks everything before writing anything, so an
// invalid set produces an error and no output.
func WritePrometheus(w io.Writer, ms []Metric) error {
	fams, err := families(ms)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		if f.help != "" {
			fmt.Fprintf(bw, "# HELP %s %s\n", f.name, escapeHelp(f.help))
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n", f.name, f.typ)
		for _, m := range f.samples {
			bw.WriteString(m.Name)
			writeLabels(bw, m.Labels)
			bw.WriteByte(' ')
			bw.WriteString(strconv.FormatUint(m.Value, 10))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

type family struct {
	name, help string
	typ        MetricType
	samples    []Metric
}

// families validates ms and groups samples by name in first-seen order, as
// the format requires all samples of a family to be contiguous.
func families(ms []Metric) ([]*family, error) {
	var order []*family
	byName := map[string]*family{}
	seen := map[string]bool{}
	for _, m := range ms {
		if err := checkMetric(m); err != nil {
			return nil, err
		}
		f := byName[m.Name]
		if f == nil {
			f = &family{name: m.Name, typ: m.Type}
			byName[m.Name] = f
			order = append(order, f)
		}
		if f.typ != m.Type {
			return nil, fmt.Errorf("metrics: %s declared both %s and %s", m.Name, f.typ, m.Type)
		}
		if f.help == "" {
			f.help = m.Help
		}
		var key strings.Builder
		key.WriteString(m.Name)
		writeLabels(&key, m.Labels)
		if seen[key.String()] {
			return nil, fmt.Errorf("metrics: duplicate sample %s", key.String())
		}
		seen[key.String()] = true
		f.samples = append(f.samples, m)
	}
	return order, nil
}

func checkMetric(m Metric) error {
	if !validName(m.Name, false) {
		return fmt.Errorf("metrics: invalid metric name %q", m.Name)
	}
	if m.Type != Counter && m.Type != Gauge {
		return fmt.Errorf("metrics: %s has unknown type %q", m.Name, m.Type)
	}
	names := map[string]bool{}
	for _, l := range m.Labels {
		if !validName(l.Name, true) || strings.HasPrefix(l.Name, "__") {
			return fmt.Errorf("metrics: %s has invalid label name %q", m.Name, l.Name)
		}
		if names[l.Name] {
			return fmt.Errorf("metrics: %s repeats label %q", m.Name, l.Name)
		}
		names[l.Name] = true
	}
	return nil
}

// validName reports whether s is a metric name, or with label set a label
// name (which may not contain ':').
func validName(s string, label bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if label && c == ':' {
			return false
		}
		if !nameByte(c, i == 0) {
			return false
		}
	}
	return true
}

func nameByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		return true
	case isDigit(c):
		return !first
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

type byteStringWriter interface {
	io.ByteWriter
	io.StringWriter
}

func writeLabels(w byteStringWriter, ls []Label) {
	if len(ls) == 0 {
		return
	}
	w.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(l.Name)
		w.WriteString(`="`)
		w.WriteString(labelEscaper.Replace(l.Value))
		w.WriteByte('"')
	}
	w.WriteByte('}')
}

// The format escapes backslash and newline in HELP text, and additionally
// the double quote in label values.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }
