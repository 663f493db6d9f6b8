package result

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() *File {
	return &File{
		Schema:   Schema,
		Target:   Target{Name: "linux", HTTP: "127.0.0.1:8080", TCPEcho: "127.0.0.1:8007"},
		Round:    2,
		Started:  time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Host:     Host{GoVersion: "go1.27.3", OS: "linux", Arch: "amd64", CPUs: 2},
		Settings: Settings{DurationS: 5, WarmupS: 1, Path: "/", EchoSize: 64, BulkBytes: 1 << 20},
		Tests: []Test{
			{Name: "http_keepalive", Kind: KindLatency, DurationS: 5, Count: 100, Errors: 1, FirstError: "boom",
				Latency: &Latency{Min: 1, Mean: 2.5, P50: 2, P90: 3, P99: 4, P999: 5, Max: 6}, RPS: 20, HDR: "abc"},
			{Name: "download", Kind: KindBulk, DurationS: 2, Count: 3, Bytes: 3 << 20, MBps: 31.5,
				HostCPU: &HostCPU{VCPUNS: 1.5e9, QEMUNS: 2e9, VCPUMSPerMB: 476.84, QEMUMSPerMB: 635.78}},
			{Name: "rps_c4", Kind: KindRPS, DurationS: 2, Count: 10, RPS: 5, HostCPU: &HostCPU{Error: "host CPU: gone"}},
			{Name: "boot", Kind: KindBoot, Count: 1, ElapsedMS: 9400},
		},
	}
}

func TestJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	want := sample()
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the file:\n got %+v\nwant %+v", got, want)
	}
	if got.Find("download").MBps != 31.5 || got.Find("nope") != nil {
		t.Fatal("Find")
	}
}

func TestLoadRejects(t *testing.T) {
	for name, mut := range map[string]func(*File){
		"schema":   func(f *File) { f.Schema = "other/v9" },
		"no name":  func(f *File) { f.Target.Name = "" },
		"repeated": func(f *File) { f.Tests = append(f.Tests, f.Tests[0]) },
	} {
		f := sample()
		mut(f)
		path := filepath.Join(t.TempDir(), "r.json")
		if err := Save(path, f); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var sb strings.Builder
	if err := WriteTable(&sb, sample()); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{"target linux", "http_keepalive", "2.0", "31.50", "boot: first 200 after 9400 ms", "http_keepalive: first error: boom",
		"vCPU busy", "75%       100%  476.84  635.78  ms/MB", "rps_c4: no host CPU: gone"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestSetHostCPU(t *testing.T) {
	bulk := Test{Kind: KindBulk, Count: 2, Bytes: 16e6}
	bulk.SetHostCPU(40*time.Millisecond, 80*time.Millisecond)
	if h := bulk.HostCPU; h.VCPUNS != 40e6 || h.QEMUNS != 80e6 || h.VCPUMSPerMB != 2.5 || h.QEMUMSPerMB != 5 || h.VCPUUSPerReq != 0 {
		t.Errorf("bulk: %+v, want 2.5 and 5 ms/MB", *h)
	}
	rps := Test{Kind: KindRPS, Count: 1000}
	rps.SetHostCPU(40*time.Millisecond, 80*time.Millisecond)
	if h := rps.HostCPU; h.VCPUUSPerReq != 40 || h.QEMUUSPerReq != 80 || h.VCPUMSPerMB != 0 {
		t.Errorf("rps: %+v, want 40 and 80 µs per request", *h)
	}
	idle := Test{Kind: KindBulk}
	idle.SetHostCPU(time.Second, 2*time.Second)
	if h := idle.HostCPU; h.VCPUNS != 1e9 || h.QEMUNS != 2e9 || h.VCPUMSPerMB != 0 || h.VCPUUSPerReq != 0 {
		t.Errorf("no work done: %+v, want the times and no cost", *h)
	}
}

// TestLoadWithoutHostCPU: files written before host_cpu existed still load.
func TestLoadWithoutHostCPU(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.json")
	old := `{"schema": "tamabench/v1", "target": {"name": "linux", "http": "x"}, "tests": [{"name": "download", "kind": "bulk", "count": 1, "bytes": 8, "mb_s": 1}]}`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := f.Find("download"); d == nil || d.HostCPU != nil {
		t.Fatalf("download %+v", d)
	} else if _, _, ok := d.CPUCost(); ok {
		t.Fatal("a cost from a file without one")
	}
}
