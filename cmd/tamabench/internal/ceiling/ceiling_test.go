package ceiling

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"tamanet/cmd/tamabench/internal/compare"
)

func sample() *File {
	return &File{Schema: Schema, NIC: "e1000", Note: "qemu tcg", Seconds: 2, Rows: []Row{
		{Name: "tx-1514", Mode: "tx", Direction: GuestTx, Size: 1514, WireSize: 1514,
			Guest:  Count{Frames: 1000, Bytes: 1514000, Seconds: 2},
			Device: &Count{Frames: 1000, Bytes: 1518000, Seconds: 2},
			Host:   Count{Frames: 1000, Bytes: 1514000, Seconds: 1}},
		{Name: "tso", Mode: "tso", Direction: GuestTx, Size: 65000, WireSize: 1514,
			Guest: Count{Frames: 4500, Bytes: 4500 * 1514, Seconds: 1},
			Host:  Count{Frames: 4500, Bytes: 4000000, Seconds: 1}},
		{Name: "sink-1514", Mode: "sink", Direction: GuestRx, Size: 1514, WireSize: 1514,
			Guest: Count{Frames: 2000, Bytes: 2000000, Seconds: 4},
			Host:  Count{Frames: 9000, Bytes: 9000 * 1514, Seconds: 2}, TapRead: 2001, TapDropped: 7000},
	}}
}

// TestCeilingIsTheFarSide: guest tx is measured where the frames arrive
// (the host's tap), guest rx where the sink counts them.
func TestCeilingIsTheFarSide(t *testing.T) {
	f := sample()
	if c := f.Find("tx-1514").Ceiling(); c.MBps() != 1.514 || c.FramesPerS() != 1000 {
		t.Errorf("tx ceiling %+v: %.3f MB/s %.0f frames/s", c, c.MBps(), c.FramesPerS())
	}
	if c := f.Find("sink-1514").Ceiling(); c.MBps() != 0.5 || c.FramesPerS() != 500 {
		t.Errorf("sink ceiling %+v", c)
	}
	if (Count{Frames: 3}).FramesPerS() != 0 {
		t.Error("a count without time has a rate")
	}
}

// TestDevAgreement compares the registers, which count the FCS, with the
// guest's frames without it.
func TestDevAgreement(t *testing.T) {
	f := sample()
	fr, by, ok := f.Find("tx-1514").DevAgreement()
	if !ok || fr != 1 || by != 1 {
		t.Errorf("agreement %v %v %v, want 1 1", fr, by, ok)
	}
	if _, _, ok := f.Find("tso").DevAgreement(); ok {
		t.Error("agreement without device registers")
	}
}

func TestShares(t *testing.T) {
	tab := &compare.Table{Base: "linux", Rows: []compare.Row{
		{Target: "tamanet", Test: "http_keepalive", Metric: "p50", Base: 1, Other: 2},
		{Target: "tamanet", Test: "download", Metric: "MB/s", Base: 1, Other: 3},
		{Target: "tamanet", Test: "upload", Metric: "MB/s", Base: 0.25, Other: 0.4},
	}}
	got, err := Shares(tab, sample())
	if err != nil {
		t.Fatal(err)
	}
	want := []Share{
		{"tamanet", "download", 3, "tso", 4, 1, 75},
		{"tamanet", "download", 3, "tx-1514", 1.514, 1, 100 * 3 / 1.514},
		{"linux", "download", 1, "tso", 4, 1, 25},
		{"linux", "download", 1, "tx-1514", 1.514, 1, 100 / 1.514},
		{"tamanet", "upload", 0.4, "sink-1514", 0.5, 1, 80},
		{"linux", "upload", 0.25, "sink-1514", 0.5, 1, 50},
	}
	if len(got) != len(want) {
		t.Fatalf("shares %+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Target != w.Target || g.Test != w.Test || g.Ceiling != w.Ceiling || g.MBps != w.MBps || g.Rounds != w.Rounds ||
			math.Abs(g.CeilingMBps-w.CeilingMBps) > 1e-9 || math.Abs(g.Percent-w.Percent) > 1e-9 {
			t.Errorf("share %d: %+v, want %+v", i, g, w)
		}
	}
	var b bytes.Buffer
	if err := WriteShares(&b, got); err != nil || !strings.Contains(b.String(), "75.0%") {
		t.Errorf("share table (%v):\n%s", err, b.String())
	}
}

// TestShareOfAnUnmeasuredCeiling: a ceiling the run left out shows as
// "-", not as a division by zero.
func TestShareOfAnUnmeasuredCeiling(t *testing.T) {
	tab := &compare.Table{Base: "linux", Rows: []compare.Row{{Target: "tamanet", Test: "upload", Metric: "MB/s", Base: 1, Other: 2}}}
	got, err := Shares(tab, &File{Schema: Schema})
	if err != nil || len(got) != 2 || got[0].CeilingMBps != 0 || got[0].Percent != 0 {
		t.Fatalf("shares %+v %v", got, err)
	}
	var b bytes.Buffer
	WriteShares(&b, got)
	if f := strings.Fields(strings.Split(b.String(), "\n")[2]); strings.Join(f[3:], " ") != "sink-1514 - -" {
		t.Errorf("table:\n%s", b.String())
	}
	if _, err := Shares(&compare.Table{}, sample()); err == nil {
		t.Error("no error for a table without transfers")
	}
}

func TestSaveLoadAndTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ceiling.json")
	if err := Save(path, sample()); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil || len(f.Rows) != 3 || f.Rows[0].Device == nil || f.Rows[1].Device != nil {
		t.Fatalf("load: %+v %v", f, err)
	}
	var b bytes.Buffer
	if err := WriteTable(&b, f); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"tx-1514", "1.0000", "super-frames of 65000", "the tap dropped 7000"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
}

// TestCeilingMedianOverRounds: a share is taken against the median of the
// rounds' ceilings.
func TestCeilingMedianOverRounds(t *testing.T) {
	f := &File{Schema: Schema}
	for i, mb := range []int64{3, 1, 2, 10} {
		f.Rows = append(f.Rows, Row{Name: "sink-1514", Round: i + 1, Direction: GuestRx, Guest: Count{Bytes: mb * 1e6, Seconds: 1}})
	}
	if m, n := f.CeilingMBps("sink-1514"); m != 2.5 || n != 4 {
		t.Errorf("median of 4: %v over %d", m, n)
	}
	f.Rows = f.Rows[:3]
	if m, n := f.CeilingMBps("sink-1514"); m != 2 || n != 3 {
		t.Errorf("median of 3: %v over %d", m, n)
	}
	if m, n := f.CeilingMBps("tso"); m != 0 || n != 0 {
		t.Errorf("no rows: %v over %d", m, n)
	}
}
