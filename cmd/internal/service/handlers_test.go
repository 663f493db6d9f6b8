package service

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
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
	if n.RootRequests != 1 || n.HTTPRequests != 2 || n.HTTP2xx != 1 || n.HTTP4xx != 1 {
		t.Fatalf("counters %+v", n)
	}
	if n.HTTPConnections == 0 {
		t.Fatal("connection not counted")
	}
}

func TestStatsJSON(t *testing.T) {
	_, ts := newTestServer(t, Config{Name: "x", Stats: func() any { return map[string]int{"irqs": 7} }})
	get(t, ts.URL+"/")
	code, body := get(t, ts.URL+"/stats")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var doc struct {
		Name    string
		Service Snapshot
		System  map[string]int
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "x" || doc.System["irqs"] != 7 || doc.Service.RootRequests != 1 || doc.Service.StatsRequests != 1 {
		t.Fatalf("got %+v", doc)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	_, ts := newTestServer(t, Config{Metrics: func() []Metric {
		return CounterMetrics("sys_", map[string]uint64{"irqs": 42})
	}})
	code, body := get(t, ts.URL+"/metrics")
	if code != 200 || !strings.Contains(body, "# TYPE sys_irqs counter\nsys_irqs 42\n") ||
		!strings.Contains(body, "service_http_requests_total 1\n") {
		t.Fatalf("got %d:\n%s", code, body)
	}
}

func TestMetricsEndpointBadCallerMetric(t *testing.T) {
	s, ts := newTestServer(t, Config{Metrics: func() []Metric {
		return []Metric{{Name: "bad name", Type: Counter}}
	}})
	code, body := get(t, ts.URL+"/metrics")
	if code != 500 || !strings.Contains(body, `invalid metric name "bad name"`) {
		t.Fatalf("got %d %q", code, body)
	}
	if n := s.Snapshot(); n.MetricsErrors != 1 || n.HTTP5xx != 1 {
		t.Fatalf("counters %+v", n)
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
	if resp.StatusCode != 405 || s.Snapshot().HTTP4xx != 1 {
		t.Fatalf("status %d, counters %+v", resp.StatusCode, s.Snapshot())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
