package expose

import (
	"cmp"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Kind is what a Node holds.
type Kind uint8

// The kinds of Node.
const (
	KindGroup     Kind = iota // a struct: Children in field order
	KindList                  // a slice or array: Children keyed by index
	KindMap                   // a map: Children keyed by map key, sorted
	KindCounter               // a number that only grows
	KindGauge                 // a number (or boolean) that can go down
	KindHistogram             // Hist holds the buckets
	KindText                  // a string
)

// Node is one value of a statistics tree.
type Node struct {
	// Key is the JSON key (or index, for a list element).
	Key  string
	Kind Kind
	// Value is a Counter's or Gauge's uint64, int64, float64 or bool, or
	// a Text's string.
	Value any
	// Hist is a Histogram's buckets.
	Hist *HistogramValue
	// Children are a Group's fields, a List's or a Map's elements.
	Children []*Node
	// LabelName is, for a list or map, the label its elements' metrics
	// carry with their index or key.
	LabelName string
	// IsLabel marks a field tagged `metric:"label"`: it labels the metrics
	// of the struct it is in and is no metric itself.
	IsLabel bool
	// InfoLabel, for a string tagged `metric:"info=NAME"`, is NAME.
	InfoLabel string
}

// Histogram is implemented (with a value receiver) by statistics values
// that are histograms.
type Histogram interface {
	// StatsHistogram returns the buckets' upper bounds in increasing
	// order, the observations in each bucket (counts[i] counts values in
	// (upper[i-1], upper[i]]) plus one more count for values above the last
	// bound, and the sum of all observed values.
	StatsHistogram() (upper []float64, counts []uint64, sum float64)
}

// HistogramValue is a histogram as Build found it.
type HistogramValue struct {
	Upper  []float64
	Counts []uint64 // len(Upper)+1: the last is above the last bound
	Sum    float64
}

// Count is the number of observations.
func (h *HistogramValue) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// counterValue is gVisor's *tcpip.StatCounter, or any other live counter.
type counterValue interface{ Value() uint64 }

var (
	histogramType = reflect.TypeFor[Histogram]()
	counterType   = reflect.TypeFor[counterValue]()
)

// snakeKey is what a struct field's key must look like, `json` tag or not.
var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// maxDepth bounds the walk; statistics structs are shallow, so hitting it
// means a cycle.
const maxDepth = 32

// Build turns v, a snapshot of statistics, into a tree. Values it cannot
// represent (functions, channels, complex numbers, cycles) are left out and
// named in the error; the tree holds everything else.
func Build(v any) (*Node, error) {
	var b builder
	n := b.value("", reflect.ValueOf(v), tag{}, "", 0)
	if n == nil {
		n = &Node{Kind: KindGroup}
	}
	return n, b.err()
}

type builder struct {
	errs []string
}

func (b *builder) err() error {
	if len(b.errs) == 0 {
		return nil
	}
	return fmt.Errorf("expose: left out %s", strings.Join(b.errs, "; "))
}

func (b *builder) fail(path, format string, args ...any) {
	if path == "" {
		path = "(root)"
	}
	b.errs = append(b.errs, path+": "+fmt.Sprintf(format, args...))
}

// value builds the node for v under key; nil means "nothing to show" (a
// nil pointer, an empty struct, an unsupported value).
func (b *builder) value(key string, v reflect.Value, t tag, path string, depth int) *Node {
	if depth > maxDepth {
		b.fail(path, "nested deeper than %d", maxDepth)
		return nil
	}
	if !v.IsValid() {
		return nil
	}
	n := &Node{Key: key, IsLabel: t.label, InfoLabel: t.info}
	if v.Type().Implements(histogramType) && !nilPointer(v) {
		upper, counts, sum := v.Interface().(Histogram).StatsHistogram()
		if len(counts) != len(upper)+1 || !slices.IsSorted(upper) {
			b.fail(path, "histogram with %d bounds and %d counts, or bounds out of order", len(upper), len(counts))
			return nil
		}
		n.Kind, n.Hist = KindHistogram, &HistogramValue{Upper: upper, Counts: counts, Sum: sum}
		return n
	}
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		if v.Type().Implements(counterType) {
			n.Kind, n.Value = KindCounter, v.Interface().(counterValue).Value()
			return n
		}
		if m, ok := b.keyedCounters(n, v, t, path); ok {
			return m
		}
		return b.value(key, v.Elem(), t, path, depth+1)
	}
	switch v.Kind() {
	case reflect.Bool:
		n.Kind, n.Value = KindGauge, v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n.Kind, n.Value = t.numberKind(), v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n.Kind, n.Value = t.numberKind(), v.Uint()
	case reflect.Float32, reflect.Float64:
		n.Kind, n.Value = KindGauge, v.Float()
		if t.counter {
			n.Kind = KindCounter
		}
	case reflect.String:
		n.Kind, n.Value = KindText, v.String()
	case reflect.Struct:
		n.Kind = KindGroup
		b.fields(n, v, path, depth)
		if len(n.Children) == 0 {
			return nil
		}
	case reflect.Slice, reflect.Array:
		n.Kind, n.LabelName = KindList, cmp.Or(t.labelName, "index")
		for i := range v.Len() {
			k := strconv.Itoa(i)
			if c := b.value(k, v.Index(i), tag{}, path+"["+k+"]", depth+1); c != nil {
				n.Children = append(n.Children, c)
			}
		}
	case reflect.Map:
		n.Kind, n.LabelName = KindMap, cmp.Or(t.labelName, "key")
		for it := v.MapRange(); it.Next(); {
			k := fmt.Sprint(it.Key().Interface())
			if c := b.value(k, it.Value(), tag{}, path+"["+k+"]", depth+1); c != nil {
				n.Children = append(n.Children, c)
			}
		}
		slices.SortFunc(n.Children, func(a, b *Node) int { return compareKeys(a.Key, b.Key) })
	default:
		b.fail(path, "unsupported %s", v.Type())
		return nil
	}
	if n.IsLabel && n.Kind != KindText && n.Kind != KindCounter && n.Kind != KindGauge {
		b.fail(path, "a label must be a string or a number, not %s", v.Type())
		return nil
	}
	return n
}

// fields adds the exported fields of struct v to n; embedded structs add
// their fields directly, as in encoding/json.
func (b *builder) fields(n *Node, v reflect.Value, path string, depth int) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !(f.Anonymous && f.Type.Kind() == reflect.Struct) {
			continue
		}
		ft := parseTag(f.Tag.Get("metric"))
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if ft.skip || name == "-" {
			continue
		}
		fv := v.Field(i)
		if f.Anonymous && name == "" && fv.Kind() == reflect.Struct {
			b.fields(n, fv, path, depth+1)
			continue
		}
		if name == "" {
			name = SnakeCase(f.Name)
		} else if !snakeKey.MatchString(name) {
			// One naming style for the whole document.
			b.fail(join(path, name), "json key %q is not snake_case", name)
		}
		if c := b.value(name, fv, ft, join(path, name), depth+1); c != nil {
			n.Children = append(n.Children, c)
		}
	}
}

// keyedCounters reads a value with Keys() []uint64 and
// Get(uint64) (counter, bool) methods, gVisor's IntegralStatCounterMap, as a
// map of counters.
func (b *builder) keyedCounters(n *Node, v reflect.Value, t tag, path string) (*Node, bool) {
	keys, get := v.MethodByName("Keys"), v.MethodByName("Get")
	if !keys.IsValid() || !get.IsValid() {
		return nil, false
	}
	kt, gt := keys.Type(), get.Type()
	if kt.NumIn() != 0 || kt.NumOut() != 1 || kt.Out(0) != reflect.TypeFor[[]uint64]() ||
		gt.NumIn() != 1 || gt.In(0).Kind() != reflect.Uint64 || gt.NumOut() != 2 ||
		!gt.Out(0).Implements(counterType) || gt.Out(1).Kind() != reflect.Bool {
		return nil, false
	}
	n.Kind, n.LabelName = KindMap, cmp.Or(t.labelName, "key")
	for _, k := range keys.Call(nil)[0].Interface().([]uint64) {
		out := get.Call([]reflect.Value{reflect.ValueOf(k).Convert(gt.In(0))})
		if !out[1].Bool() || nilPointer(out[0]) {
			continue
		}
		n.Children = append(n.Children, &Node{Key: strconv.FormatUint(k, 10), Kind: KindCounter,
			Value: out[0].Interface().(counterValue).Value()})
	}
	slices.SortFunc(n.Children, func(a, b *Node) int { return compareKeys(a.Key, b.Key) })
	return n, true
}

func nilPointer(v reflect.Value) bool {
	return (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil()
}

// compareKeys orders numeric keys by value and others as strings.
func compareKeys(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, b)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// tag is a parsed `metric:"..."` struct tag.
type tag struct {
	skip, gauge, counter, label bool
	labelName, info             string
}

func parseTag(s string) tag {
	var t tag
	for _, opt := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		switch k {
		case "-":
			t.skip = true
		case "gauge":
			t.gauge = true
		case "counter":
			t.counter = true
		case "label":
			if v == "" {
				t.label = true
			} else {
				t.labelName = v
			}
		case "info":
			t.info = v
		}
	}
	return t
}

// numberKind is an integer's kind: a counter unless tagged gauge.
func (t tag) numberKind() Kind {
	if t.gauge {
		return KindGauge
	}
	return KindCounter
}
