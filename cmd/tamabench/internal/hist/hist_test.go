package hist

import (
	"math"
	"testing"
	"time"
)

// within reports whether got is within the histogram's 0.1 % precision of
// want (plus one ns of bucket rounding).
func within(got, want float64) bool { return math.Abs(got-want) <= want*0.001+0.001 }

func TestSummary(t *testing.T) {
	h := New()
	if h.Summary() != nil || h.CDF() != nil {
		t.Fatal("empty histogram has a summary")
	}
	for i := 1; i <= 1000; i++ { // 1..1000 µs
		h.Record(time.Duration(i) * time.Microsecond)
	}
	s := h.Summary()
	for name, c := range map[string][2]float64{
		"min": {s.Min, 1}, "p50": {s.P50, 500}, "p90": {s.P90, 900}, "p99": {s.P99, 990},
		"p99.9": {s.P999, 999}, "max": {s.Max, 1000}, "mean": {s.Mean, 500.5},
	} {
		if !within(c[0], c[1]) {
			t.Errorf("%s = %v µs, want %v", name, c[0], c[1])
		}
	}
	if h.Count() != 1000 || h.Clamped != 0 {
		t.Fatalf("count %d clamped %d", h.Count(), h.Clamped)
	}
}

func TestClamp(t *testing.T) {
	h := New()
	h.Record(0)
	h.Record(time.Hour)
	if h.Clamped != 2 || h.Count() != 2 || h.Quantile(1) < 99*time.Second {
		t.Fatalf("clamped %d count %d max %v", h.Clamped, h.Count(), h.Quantile(1))
	}
}

func TestMergeAndEncode(t *testing.T) {
	a, b := New(), New()
	for i := 0; i < 100; i++ {
		a.Record(10 * time.Microsecond)
		b.Record(20 * time.Millisecond)
	}
	a.Merge(b)
	if a.Count() != 200 || !within(a.Summary().P99, 20000) || !within(a.Summary().P50, 10) {
		t.Fatalf("merge: %+v", a.Summary())
	}
	s, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if *d.Summary() != *a.Summary() || d.Count() != a.Count() {
		t.Fatalf("decode changed the histogram: %+v vs %+v", d.Summary(), a.Summary())
	}
	if _, err := Decode("not base64!"); err == nil {
		t.Fatal("garbage decoded")
	}
}

func TestCDF(t *testing.T) {
	h := New()
	for _, us := range []int{5, 5, 5, 100} {
		h.Record(time.Duration(us) * time.Microsecond)
	}
	pts := h.CDF()
	if len(pts) != 2 || pts[0].Q != 0.75 || pts[1].Q != 1 || !within(pts[0].US, 5) || !within(pts[1].US, 100) {
		t.Fatalf("got %+v", pts)
	}
}
