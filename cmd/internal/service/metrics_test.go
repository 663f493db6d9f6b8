package service

import (
	"strings"
	"testing"
)

func TestWritePrometheusFormat(t *testing.T) {
	ms := []Metric{
		{Name: "a_total", Help: "line1\nback\\slash", Type: Counter, Labels: []Label{{"k", `q"uo\te` + "\n"}}, Value: 1},
		{Name: "b", Type: Gauge, Value: 18446744073709551615},
		{Name: "a_total", Type: Counter, Labels: []Label{{"k", "x"}}, Value: 2},
	}
	var sb strings.Builder
	if err := WritePrometheus(&sb, ms); err != nil {
		t.Fatal(err)
	}
	want := `# HELP a_total line1\nback\\slash
# TYPE a_total counter
a_total{k="q\"uo\\te\n"} 1
a_total{k="x"} 2
# TYPE b gauge
b 18446744073709551615
`
	if sb.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", sb.String(), want)
	}
}

func TestWritePrometheusRejects(t *testing.T) {
	cases := map[string][]Metric{
		"bad name":        {{Name: "1abc", Type: Counter}},
		"empty name":      {{Name: "", Type: Counter}},
		"bad type":        {{Name: "x", Type: "histogram"}},
		"bad label":       {{Name: "x", Type: Counter, Labels: []Label{{"a:b", "v"}}}},
		"reserved label":  {{Name: "x", Type: Counter, Labels: []Label{{"__x", "v"}}}},
		"repeated label":  {{Name: "x", Type: Counter, Labels: []Label{{"a", "1"}, {"a", "2"}}}},
		"type conflict":   {{Name: "x", Type: Counter}, {Name: "x", Type: Gauge, Labels: []Label{{"a", "1"}}}},
		"duplicate":       {{Name: "x", Type: Counter}, {Name: "x", Type: Counter}},
		"duplicate label": {{Name: "x", Type: Counter, Labels: []Label{{"a", "1"}}}, {Name: "x", Type: Counter, Labels: []Label{{"a", "1"}}}},
	}
	for name, ms := range cases {
		var sb strings.Builder
		if err := WritePrometheus(&sb, ms); err == nil {
			t.Errorf("%s: no error", name)
		}
		if sb.Len() != 0 {
			t.Errorf("%s: wrote %q despite the error", name, sb.String())
		}
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"e1000.rx_packets": "e1000_rx_packets",
		"9lives":           "_9lives",
		"":                 "_",
		"ok:name_1":        "ok:name_1",
		"sp ace-dash":      "sp_ace_dash",
	} {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
		if !validName(SanitizeName(in), false) {
			t.Errorf("SanitizeName(%q) is not a valid name", in)
		}
	}
}

func TestCounterMetricsSorted(t *testing.T) {
	ms := CounterMetrics("sys_", map[string]uint64{"z.b": 2, "a": 1})
	if len(ms) != 2 || ms[0].Name != "sys_a" || ms[1].Name != "sys_z_b" || ms[1].Value != 2 || ms[0].Type != Counter {
		t.Fatalf("got %+v", ms)
	}
}

func TestServiceMetricsValid(t *testing.T) {
	var sb strings.Builder
	if err := WritePrometheus(&sb, New(Config{}).Metrics()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), `service_http_route_requests_total{route="/bytes"} 0`) {
		t.Fatalf("route counter missing:\n%s", sb.String())
	}
}
