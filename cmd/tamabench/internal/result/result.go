// Package result defines tamabench's JSON result schema: one File per target
// per run (round), holding one Test per measurement. The schema is stable:
// fields are only ever added, and Schema changes when a meaning changes.
package result

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"tamanet/cmd/tamabench/internal/tail"
)

// Schema identifies this version of the format.
const Schema = "tamabench/v1"

// Kinds of test.
const (
	KindLatency = "latency" // sequential request/response on one worker
	KindRPS     = "rps"     // closed-loop load from Concurrency workers
	KindBulk    = "bulk"    // bulk transfer, MB/s
	KindBoot    = "boot"    // time from a start instant to the first 200
	KindIdle    = "idle"    // host CPU of the guest's QEMU process while no traffic flows
)

// File is one run of tamabench against one target.
type File struct {
	Schema   string    `json:"schema"`
	Target   Target    `json:"target"`
	Round    int       `json:"round"` // interleaving round (0 if not part of one)
	Started  time.Time `json:"started"`
	Host     Host      `json:"host"`
	Settings Settings  `json:"settings"`
	Tests    []Test    `json:"tests"`
}

// Target says what was measured.
type Target struct {
	Name    string `json:"name"` // e.g. "tamanet", "linux"
	HTTP    string `json:"http"` // host:port
	TCPEcho string `json:"tcp_echo,omitempty"`
	UDPEcho string `json:"udp_echo,omitempty"`
	Note    string `json:"note,omitempty"` // free text, e.g. "qemu tcg"
}

// Host describes the machine the tool ran on.
type Host struct {
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
}

// Settings are the knobs the run used.
type Settings struct {
	DurationS float64 `json:"duration_s"` // per test (per level for rps)
	WarmupS   float64 `json:"warmup_s"`
	MaxOps    int     `json:"max_ops,omitempty"`
	Path      string  `json:"path"`       // GET path of latency and rps tests
	EchoSize  int     `json:"echo_size"`  // TCP/UDP echo payload bytes
	BulkBytes int64   `json:"bulk_bytes"` // bytes per bulk request
}

// Test is one measurement. Latencies are in microseconds.
type Test struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Concurrency int      `json:"concurrency,omitempty"`
	DurationS   float64  `json:"duration_s"`
	Count       uint64   `json:"count"`  // operations that succeeded
	Errors      uint64   `json:"errors"` // operations that failed
	FirstError  string   `json:"first_error,omitempty"`
	Latency     *Latency `json:"latency_us,omitempty"`
	RPS         float64  `json:"rps,omitempty"`
	Bytes       uint64   `json:"bytes,omitempty"`
	MBps        float64  `json:"mb_s,omitempty"` // 10^6 bytes per second
	ElapsedMS   float64  `json:"elapsed_ms,omitempty"`
	// CPUPercent is the host CPU used, in percent of one core (idle test).
	CPUPercent float64 `json:"cpu_pct,omitempty"`
	// HDR is the latency histogram (nanoseconds) in the HdrHistogram V2
	// compressed base64 encoding, so rounds can be merged exactly.
	HDR string `json:"hdr,omitempty"`
	// Phases are the guest's boot phases on the host's clock (boot test,
	// guests that report them), in time order.
	Phases []Phase `json:"phases,omitempty"`
	// Tail explains the slowest requests with the guest's latency trace
	// (latency tests run with -trace, guests that have one); TraceError
	// says why a traced test has none.
	Tail       *tail.Summary `json:"tail,omitempty"`
	TraceError string        `json:"trace_error,omitempty"`
	// HostCPU is what the guest's QEMU spent on host CPUs over the
	// measured window (tests run with the guest's QEMU PID known).
	HostCPU *HostCPU `json:"host_cpu,omitempty"`
}

// HostCPU is the host CPU time the guest's QEMU used over a test's
// measured window, and that time per unit of the test's work: per MB
// (10^6 bytes) for bulk tests, per request (operation) for the others. At
// the same rate, the cheaper stack is the one with the lower figure.
type HostCPU struct {
	// VCPUNS is the virtual CPU thread's time on a CPU, ns: the guest's
	// own code. QEMUNS is every QEMU thread's, which adds the main loop
	// (tap I/O, device emulation).
	VCPUNS int64 `json:"vcpu_ns"`
	QEMUNS int64 `json:"qemu_ns"`
	// Per MB, bulk tests.
	VCPUMSPerMB float64 `json:"vcpu_ms_per_mb,omitempty"`
	QEMUMSPerMB float64 `json:"qemu_ms_per_mb,omitempty"`
	// Per request, the other tests.
	VCPUUSPerReq float64 `json:"vcpu_us_per_req,omitempty"`
	QEMUUSPerReq float64 `json:"qemu_us_per_req,omitempty"`
	// Error says why the times could not be read (then they are 0).
	Error string `json:"error,omitempty"`
}

// Units of the host CPU cost.
const (
	UnitMSPerMB  = "ms/MB"
	UnitUSPerReq = "µs/req"
)

// CostUnit is the unit of the host CPU cost of a kind of test: per MB for
// bulk transfers, per request (operation) for the others.
func CostUnit(kind string) string {
	if kind == KindBulk {
		return UnitMSPerMB
	}
	return UnitUSPerReq
}

// SetHostCPU records the CPU times of t's measured window, vcpu and all
// threads' qemu, and their cost per unit of t's work (per CostUnit of its
// Kind; a test that did no work has no cost).
func (t *Test) SetHostCPU(vcpu, qemu time.Duration) {
	h := &HostCPU{VCPUNS: int64(vcpu), QEMUNS: int64(qemu)}
	switch {
	case CostUnit(t.Kind) == UnitMSPerMB && t.Bytes > 0:
		// ms per 10^6 bytes is ns per byte.
		h.VCPUMSPerMB = float64(vcpu) / float64(t.Bytes)
		h.QEMUMSPerMB = float64(qemu) / float64(t.Bytes)
	case CostUnit(t.Kind) == UnitUSPerReq && t.Count > 0:
		h.VCPUUSPerReq = float64(vcpu) / float64(time.Microsecond) / float64(t.Count)
		h.QEMUUSPerReq = float64(qemu) / float64(time.Microsecond) / float64(t.Count)
	}
	t.HostCPU = h
}

// CPUCost returns t's host CPU per unit of work (CostUnit of its Kind): the
// vCPU thread's and all QEMU threads'. ok is false if it has none.
func (t *Test) CPUCost() (vcpu, qemu float64, ok bool) {
	h := t.HostCPU
	if h == nil || h.Error != "" {
		return 0, 0, false
	}
	if CostUnit(t.Kind) == UnitMSPerMB {
		vcpu, qemu = h.VCPUMSPerMB, h.QEMUMSPerMB
	} else {
		vcpu, qemu = h.VCPUUSPerReq, h.QEMUUSPerReq
	}
	return vcpu, qemu, vcpu > 0 || qemu > 0
}

// Phase is one boot phase: when it happened, in ms since the boot's start
// instant (the launch of QEMU).
type Phase struct {
	Name string  `json:"name"`
	MS   float64 `json:"ms"`
}

// Phase returns the time of the phase named name, if recorded.
func (t *Test) Phase(name string) (float64, bool) {
	for _, p := range t.Phases {
		if p.Name == name {
			return p.MS, true
		}
	}
	return 0, false
}

// Latency summarises a latency distribution, in microseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// Find returns the test named name, or nil.
func (f *File) Find(name string) *Test {
	for i := range f.Tests {
		if f.Tests[i].Name == name {
			return &f.Tests[i]
		}
	}
	return nil
}

// Validate checks what the readers rely on.
func (f *File) Validate() error {
	if f.Schema != Schema {
		return fmt.Errorf("schema %q, want %q", f.Schema, Schema)
	}
	if f.Target.Name == "" {
		return fmt.Errorf("target has no name")
	}
	seen := map[string]bool{}
	for _, t := range f.Tests {
		if t.Name == "" || seen[t.Name] {
			return fmt.Errorf("test name %q empty or repeated", t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// Save writes f as indented JSON to path.
func Save(path string, f *File) error { return WriteJSON(path, f) }

// Load reads and validates a result file.
func Load(path string) (*File, error) {
	f := new(File)
	if err := ReadJSON(path, f); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// WriteJSON writes v as indented JSON, a newline at the end, to path: the
// form of every file tamabench writes.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads the JSON file at path into v; a decoding error names the
// file.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
