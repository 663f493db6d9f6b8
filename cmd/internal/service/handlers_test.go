package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func newTestServer(t *testing.T, cfg Config) (*Service, *httptest.Server) {
	t.Helper()
	s := New(cfg)
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.Config.ConnState = s.ConnState
	ts.Start()
	t.Cleanup(ts.Close)
	return s, ts
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestRootNamesSystem(t *testing.T) {
	s, ts := newTestServer(t, Config{Name: "tamanet"})
	code, body := get(t, ts.URL+"/")
	if code != 200 || body != "hello from tamanet\n" {
		t.Fatalf("got %d %q", code, body)
	}
	if code, _ := get(t, ts.URL+"/nope"); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
	n := s.Snapshot()
	if n.HTTPRouteRequests["/"] != 1 || n.HTTPRouteRequests["other"] != 1 || n.HTTPRequests != 2 ||
		n.HTTPResponses["2xx"] != 1 || n.HTTPResponses["4xx"] != 1 {
		t.Fatalf("counters %+v", n)
	}
	if l := n.HTTPRequestSeconds["/"]; sum(l.Counts[:]) != 1 || l.SumSeconds <= 0 {
		t.Fatalf("latency of GET / %+v", l)
	}
	if n.HTTPConnections == 0 {
		t.Fatal("connection not counted")
	}
}

func sum(xs []uint64) (n uint64) {
	for _, x := range xs {
		n += x
	}
	return n
}

type sysStats struct {
	IRQs   uint64
	LinkUp bool
	Mode   string `metric:"info=mode"`
}

func TestStatsJSON(t *testing.T) {
	_, ts := newTestServer(t, Config{Name: "x", Stats: func() any { return sysStats{IRQs: 7, Mode: "napi"} }})
	get(t, ts.URL+"/")
	code, body := get(t, ts.URL+"/stats")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var doc struct {
		Name    string
		Service struct {
			HTTPRouteRequests  map[string]uint64 `json:"http_route_requests"`
			HTTPRequestSeconds map[string]struct {
				Buckets []struct {
					LE    string `json:"le"`
					Count uint64 `json:"count"`
				} `json:"buckets"`
				Count uint64 `json:"count"`
			} `json:"http_request_seconds"`
		}
		System map[string]any
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "x" || doc.System["irqs"] != 7.0 || doc.System["link_up"] != false || doc.System["mode"] != "napi" ||
		doc.Service.HTTPRouteRequests["/"] != 1 || doc.Service.HTTPRequestSeconds["/"].Count != 1 {
		t.Fatalf("got %+v", doc)
	}
	// The stats request itself is counted once the handler returns.
	if b := doc.Service.HTTPRequestSeconds["/stats"].Buckets; len(b) != 17 || b[16].LE != "+Inf" || b[0].LE != "0.0001" {
		t.Fatalf("latency buckets %+v", b)
	}
}

// scrape parses GET /metrics with the Prometheus library's own parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestMetricsEndpoint(t *testing.T) {
	_, ts := newTestServer(t, Config{Name: "sys", Stats: func() any { return sysStats{IRQs: 42, LinkUp: true, Mode: "busypoll"} }})
	get(t, ts.URL+"/")
	fams := scrape(t, ts.URL)
	value := func(name string, labels ...string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no %s", name)
		}
		for _, m := range f.Metric {
			ok := true
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.Label {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				ok = ok && found
			}
			if !ok {
				continue
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.Counter.GetValue()
			case dto.MetricType_GAUGE:
				return m.Gauge.GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(m.Histogram.GetSampleCount())
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, c := range []struct {
		name   string
		typ    dto.MetricType
		labels []string
		want   float64
	}{
		{"sys_irqs_total", dto.MetricType_COUNTER, nil, 42},
		{"sys_link_up", dto.MetricType_GAUGE, nil, 1},
		{"sys_mode_info", dto.MetricType_GAUGE, []string{"mode", "busypoll"}, 1},
		// GET / and this scrape, counted as it starts.
		{"service_http_requests_total", dto.MetricType_COUNTER, nil, 2},
		{"service_http_route_requests_total", dto.MetricType_COUNTER, []string{"route", "/"}, 1},
		{"service_http_responses_total", dto.MetricType_COUNTER, []string{"class", "2xx"}, 1},
		{"service_http_request_seconds", dto.MetricType_HISTOGRAM, []string{"route", "/"}, 1},
		{"service_http_connections_open", dto.MetricType_GAUGE, nil, -1},
		{"go_sched_latencies_seconds", dto.MetricType_HISTOGRAM, nil, -1},
		{"promhttp_metric_handler_errors_total", dto.MetricType_COUNTER, []string{"cause", "gathering"}, 0},
	} {
		if got := value(c.name, c.labels...); c.want >= 0 && got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
		if fams[c.name].GetType() != c.typ {
			t.Errorf("%s is a %v, want %v", c.name, fams[c.name].GetType(), c.typ)
		}
	}
}

// TestMetricsEndpointBadStats: a value the model cannot expose fails that
// value, not the scrape, and is counted.
func TestMetricsEndpointBadStats(t *testing.T) {
	_, ts := newTestServer(t, Config{Name: "sys", Stats: func() any {
		return struct {
			Good uint64
			Bad  func()
		}{Good: 3}
	}})
	scrape(t, ts.URL)
	fams := scrape(t, ts.URL)
	if f := fams["sys_good_total"]; f == nil || f.Metric[0].Counter.GetValue() != 3 {
		t.Fatalf("good value lost: %v", f)
	}
	var errs float64
	for _, m := range fams["promhttp_metric_handler_errors_total"].GetMetric() {
		errs += m.Counter.GetValue()
	}
	if errs != 1 {
		t.Fatalf("%v handler errors after one bad scrape, want 1", errs)
	}
	resp, err := http.Get(ts.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Stats-Error"), "bad: unsupported func()") {
		t.Fatalf("/stats %d, Stats-Error %q", resp.StatusCode, resp.Header.Get("Stats-Error"))
	}
}

func TestBytesPattern(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	for _, n := range []int64{0, 1, 250, 251, 252, int64(len(pattern)), int64(len(pattern)) + 3, 300000} {
		resp, err := http.Get(ts.URL + "/bytes?n=" + itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || int64(len(b)) != n || resp.ContentLength != n {
			t.Fatalf("n=%d: status %d len %d cl %d err %v", n, resp.StatusCode, len(b), resp.ContentLength, err)
		}
		for i, c := range b {
			if c != PatternByte(int64(i)) {
				t.Fatalf("n=%d: byte %d = %d, want %d", n, i, c, PatternByte(int64(i)))
			}
		}
	}
	if got := s.Snapshot().BytesSent; got != 0+1+250+251+252+2*uint64(len(pattern))+3+300000 {
		t.Fatalf("bytes sent %d", got)
	}
}

func TestBytesBadN(t *testing.T) {
	s, ts := newTestServer(t, Config{MaxBytes: 1000})
	for q, want := range map[string]string{
		"":                         "missing n",
		"?n=":                      "missing n",
		"?n=abc":                   `bad n "abc"`,
		"?n=-1":                    `bad n "-1"`,
		"?n=1e3":                   `bad n "1e3"`,
		"?n=1001":                  "exceeds the limit of 1000",
		"?n=999999999999999999999": "bad n",
	} {
		code, body := get(t, ts.URL+"/bytes"+q)
		if code != 400 || !strings.Contains(body, want) {
			t.Errorf("%q: got %d %q, want 400 containing %q", q, code, body, want)
		}
	}
	if n := s.Snapshot(); n.BytesBadRequests != 7 || n.BytesSent != 0 {
		t.Fatalf("counters %+v", n)
	}
}

func TestMethodNotAllowedCounted(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	resp, err := http.Post(ts.URL+"/bytes?n=1", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || s.Snapshot().HTTPResponses["4xx"] != 1 {
		t.Fatalf("status %d, counters %+v", resp.StatusCode, s.Snapshot())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestExtraRoutes: routes the caller adds are served and counted under
// their path, with their own latency histogram.
func TestExtraRoutes(t *testing.T) {
	s, ts := newTestServer(t, Config{Routes: map[string]http.Handler{
		"GET /debug/thing/": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "thing") }),
	}})
	if code, body := get(t, ts.URL+"/debug/thing/x"); code != 200 || body != "thing" {
		t.Fatalf("got %d %q", code, body)
	}
	n := s.Snapshot()
	lat := n.HTTPRequestSeconds["/debug/thing/"]
	if n.HTTPRouteRequests["/debug/thing/"] != 1 || sum(lat.Counts[:]) != 1 {
		t.Fatalf("counters %+v", n)
	}
	for pattern, want := range map[string]string{"GET /{$}": "/", "": "other", "POST /echo": "/echo", "/x/": "/x/"} {
		if got := routeLabel(pattern); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", pattern, got, want)
		}
	}
}

type crasher struct{ n *int }

// nilDeref is a route that dereferences nil, as a buggy handler would.
func (c crasher) nilDeref(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, *c.n)
}

// TestHandlerPanic: a handler that dereferences nil costs its own
// connection only; the panic is counted and net/http logs it with the
// handler's stack.
func TestHandlerPanic(t *testing.T) {
	s := New(Config{Name: "t", Routes: map[string]http.Handler{"GET /crash": http.HandlerFunc(crasher{}.nilDeref)}})
	var log bytes.Buffer
	var mu sync.Mutex
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ErrorLog = stdlog.New(lockedWriter{&mu, &log}, "", 0)
	srv.Start()
	defer srv.Close()
	if _, err := http.Get(srv.URL + "/crash"); err == nil {
		t.Fatal("GET /crash got a response")
	}
	resp, err := http.Get(srv.URL + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / after the crash: %v", err)
	}
	resp.Body.Close()
	if n := s.Snapshot().HTTPPanics; n != 1 {
		t.Errorf("%d panics counted, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"http: panic serving", "nil pointer dereference", "service.crasher.nilDeref"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
