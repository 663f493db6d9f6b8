package expose

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// sizes is a histogram of 0, 1-2, 3-4 and more.
type sizes [4]uint64

func (s sizes) StatsHistogram() ([]float64, []uint64, float64) {
	return []float64{0, 2, 4}, s[:], 42
}

type line struct {
	GSI      uint32 `metric:"label"`
	Trigger  string `metric:"label"`
	Count    uint64
	Disabled bool
	Handlers map[string]uint64 `metric:"label=handler"`
}

type embedded struct{ Resets uint64 }

type doc struct {
	Mode     string `metric:"info=mode"`
	Note     string
	Budget   int `metric:"gauge"`
	LinkUp   bool
	RX       struct{ Packets, GoodOctetsRx uint64 }
	Lines    []line `metric:"label=line"`
	Polls    sizes
	Snake    uint64 `json:"already_snake"`
	Hidden   uint64 `metric:"-"`
	JSONSkip uint64 `json:"-"`
	Temp     float64
	Clock    float64 `metric:"counter"`
	Ptr      *uint64
	embedded
	unexported uint64
}

func sample() doc {
	d := doc{Mode: "napi", Note: "hello", Budget: 64, LinkUp: true, Snake: 7, Hidden: 1, JSONSkip: 1, Temp: 1.5, Clock: 2.25}
	d.RX.Packets, d.RX.GoodOctetsRx = 10, 1<<60
	d.Lines = []line{
		{GSI: 11, Trigger: "level", Count: 5, Handlers: map[string]uint64{"e1000": 5}},
		{GSI: 2, Trigger: "edge", Count: 9, Disabled: true, Handlers: map[string]uint64{}},
	}
	d.Polls = sizes{1, 2, 3, 4}
	d.Resets = 3
	return d
}

func TestJSON(t *testing.T) {
	tree, err := Build(sample())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mode":"napi","note":"hello","budget":64,"link_up":true,` +
		`"rx":{"packets":10,"good_octets_rx":1152921504606846976},` +
		`"lines":[{"gsi":11,"trigger":"level","count":5,"disabled":false,"handlers":{"e1000":5}},` +
		`{"gsi":2,"trigger":"edge","count":9,"disabled":true,"handlers":{}}],` +
		`"polls":{"buckets":[{"le":"0","count":1},{"le":"2","count":2},{"le":"4","count":3},{"le":"+Inf","count":4}],"count":10,"sum":42},` +
		`"already_snake":7,"temp":1.5,"clock":2.25,"resets":3}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Errorf("not valid JSON: %v", err)
	}
}

func TestSamples(t *testing.T) {
	tree, _ := Build(sample())
	got := map[string]Sample{}
	for _, s := range Samples(tree, "ns", "system") {
		key := s.Name + "{" + strings.Join(s.LabelValues, ",") + "}"
		if _, dup := got[key]; dup {
			t.Errorf("duplicate sample %s", key)
		}
		got[key] = s
	}
	for key, want := range map[string]struct {
		kind  Kind
		value float64
		path  string
	}{
		"ns_mode_info{napi}":                        {KindGauge, 1, "system.mode"},
		"ns_budget{}":                               {KindGauge, 64, "system.budget"},
		"ns_link_up{}":                              {KindGauge, 1, "system.link_up"},
		"ns_rx_packets_total{}":                     {KindCounter, 10, "system.rx.packets"},
		"ns_rx_good_octets_rx_total{}":              {KindCounter, math.Ldexp(1, 60), "system.rx.good_octets_rx"},
		"ns_lines_count_total{0,11,level}":          {KindCounter, 5, "system.lines[].count"},
		"ns_lines_disabled{1,2,edge}":               {KindGauge, 1, "system.lines[].disabled"},
		"ns_lines_disabled{0,11,level}":             {KindGauge, 0, "system.lines[].disabled"},
		"ns_lines_count_total{1,2,edge}":            {KindCounter, 9, "system.lines[].count"},
		"ns_lines_handlers_total{0,11,level,e1000}": {KindCounter, 5, "system.lines[].handlers[]"},
		"ns_polls{}":                                {KindHistogram, 0, "system.polls"},
		"ns_already_snake_total{}":                  {KindCounter, 7, "system.already_snake"},
		"ns_temp{}":                                 {KindGauge, 1.5, "system.temp"},
		"ns_clock_total{}":                          {KindCounter, 2.25, "system.clock"},
		"ns_resets_total{}":                         {KindCounter, 3, "system.resets"},
	} {
		s, ok := got[key]
		if !ok {
			t.Errorf("no sample %s", key)
			continue
		}
		if s.Kind != want.kind || s.Value != want.value || s.Path != want.path {
			t.Errorf("%s: kind %d value %v path %s, want %d %v %s", key, s.Kind, s.Value, s.Path, want.kind, want.value, want.path)
		}
		delete(got, key)
	}
	for key := range got {
		t.Errorf("unexpected sample %s", key)
	}
	lines := Samples(tree, "ns", "")
	for _, s := range lines {
		if s.Name == "ns_lines_handlers_total" && strings.Join(s.LabelNames, ",") != "line,gsi,trigger,handler" {
			t.Errorf("handler labels %v", s.LabelNames)
		}
	}
}

// TestPrometheus gathers a sample document through client_golang and checks
// the text exposition and the library's own lint.
func TestPrometheus(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector("ns", "system", func() any { return sample() }))
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		// HELP texts are /stats paths, not prose ending in a period.
		t.Logf("lint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP ns_lines_count_total /stats system.lines[].count
# TYPE ns_lines_count_total counter
ns_lines_count_total{gsi="11",line="0",trigger="level"} 5
ns_lines_count_total{gsi="2",line="1",trigger="edge"} 9
# HELP ns_polls /stats system.polls
# TYPE ns_polls histogram
ns_polls_bucket{le="0"} 1
ns_polls_bucket{le="2"} 3
ns_polls_bucket{le="4"} 6
ns_polls_bucket{le="+Inf"} 10
ns_polls_sum 42
ns_polls_count 10
# HELP ns_mode_info /stats system.mode
# TYPE ns_mode_info gauge
ns_mode_info{mode="napi"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ns_lines_count_total", "ns_polls", "ns_mode_info"); err != nil {
		t.Error(err)
	}
	n, err := testutil.GatherAndCount(reg)
	if err != nil || n != 15 {
		t.Errorf("%d samples, %v; want 15", n, err)
	}
	_ = promlint.New(bytes.NewReader(nil))
}

// TestGVisorStats walks a real gVisor stack's statistics: every counter is
// reached through *tcpip.StatCounter, the keyed maps through their methods,
// and nothing is left out.
func TestGVisorStats(t *testing.T) {
	var s tcpip.Stats
	s = s.FillIn()
	s.TCP.ActiveConnectionOpenings.IncrementBy(3)
	s.NICs.UnknownL3ProtocolRcvdPacketCounts.Init()
	s.NICs.UnknownL3ProtocolRcvdPacketCounts.Increment(0x88b5)
	tree, err := Build(struct{ Stack tcpip.Stats }{s})
	if err != nil {
		t.Fatal(err)
	}
	var found, keyed bool
	names := map[string]bool{}
	for _, smp := range Samples(tree, "tamanet", "") {
		if smp.Kind != KindCounter || !strings.HasSuffix(smp.Name, "_total") {
			t.Errorf("%s: kind %d", smp.Name, smp.Kind)
		}
		switch smp.Name {
		case "tamanet_stack_tcp_active_connection_openings_total":
			found = smp.Value == 3
		case "tamanet_stack_nics_unknown_l3_protocol_rcvd_packet_counts_total":
			keyed = smp.Value == 1 && smp.LabelNames[0] == "key" && smp.LabelValues[0] == "34997"
		}
		names[smp.Name] = true
	}
	if !found {
		t.Error("tcp active connection openings not 3")
	}
	if !keyed {
		t.Error("no unknown L3 protocol counter for key 34997 (0x88b5)")
	}
	if len(names) < 150 {
		t.Errorf("only %d gVisor counters", len(names))
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector("tamanet", "system", func() any { return struct{ Stack tcpip.Stats }{s} }))
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	type bad struct {
		Ch    chan int
		Fn    func()
		Good  uint64
		Label []int `metric:"label"`
	}
	tree, err := Build(bad{Good: 1})
	if err == nil || !strings.Contains(err.Error(), "ch: unsupported chan int") || !strings.Contains(err.Error(), "fn: unsupported func()") {
		t.Errorf("error %v", err)
	}
	if len(tree.Children) != 1 || tree.Children[0].Key != "good" {
		t.Errorf("the good value must stay: %+v", tree.Children)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector("x", "", func() any { return bad{} }))
	if _, err := reg.Gather(); err == nil {
		t.Error("a scrape of unsupported values reports no error")
	}
	type camel struct {
		A uint64 `json:"someKey"`
	}
	if _, err := Build(camel{}); err == nil || !strings.Contains(err.Error(), `json key "someKey" is not snake_case`) {
		t.Errorf("camelCase json tag: %v", err)
	}
	type badHist struct{ H wrongHist }
	if _, err := Build(badHist{}); err == nil || !strings.Contains(err.Error(), "histogram") {
		t.Errorf("bad histogram: %v", err)
	}
}

type wrongHist struct{}

func (wrongHist) StatsHistogram() ([]float64, []uint64, float64) {
	return []float64{1, 2}, []uint64{1}, 0
}
