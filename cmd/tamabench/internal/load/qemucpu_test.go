package load

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamanet/cmd/tamabench/internal/result"
)

// fakeProc is a /proc tree holding one QEMU process, pid 100.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T) *fakeProc {
	return &fakeProc{t, t.TempDir()}
}

// thread writes thread tid's name and schedstat (ns on a CPU, run_delay).
func (p *fakeProc) thread(tid, comm, schedstat string) {
	dir := filepath.Join(p.root, "100", "task", tid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	for name, body := range map[string]string{"comm": comm + "\n", "schedstat": schedstat + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *fakeProc) end(tid string) {
	if err := os.RemoveAll(filepath.Join(p.root, "100", "task", tid)); err != nil {
		p.t.Fatal(err)
	}
}

func TestQEMUCPUSince(t *testing.T) {
	p := newFakeProc(t)
	p.thread("100", "qemu-system-x86", "5000 7 9")
	p.thread("101", "qemu-system-x86", "100 0 1") // ends in the window
	p.thread("102", "CPU 0/TCG", "20000 3 40")
	q, err := openQEMUCPU(p.root, 100)
	if err != nil {
		t.Fatal(err)
	}
	before, err := q.Sample()
	if err != nil {
		t.Fatal(err)
	}
	p.thread("100", "qemu-system-x86", "6000 7 9")
	p.end("101")
	p.thread("102", "CPU 0/TCG", "29000 3 40")
	p.thread("103", "worker", "250 0 1") // started in the window
	after, err := q.Sample()
	if err != nil {
		t.Fatal(err)
	}
	vcpu, all := after.Since(before)
	if vcpu != 9000 || all != 1000+9000+250 {
		t.Errorf("Since = vcpu %d, all %d; want 9000 and 10250 ns", vcpu, all)
	}
}

func TestQEMUCPUErrors(t *testing.T) {
	p := newFakeProc(t)
	p.thread("100", "qemu-system-x86", "5000 7 9")
	if _, err := openQEMUCPU(p.root, 100); err == nil || !strings.Contains(err.Error(), "debug-threads") {
		t.Errorf("no vCPU thread: %v, want an error naming debug-threads", err)
	}
	if _, err := openQEMUCPU(p.root, 7); err == nil {
		t.Error("no such process: no error")
	}
	p.thread("102", "CPU 0/TCG", "1 2 3")
	q, err := openQEMUCPU(p.root, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "12", "x 1 1", "-5 1 1"} {
		p.thread("100", "qemu-system-x86", bad)
		if _, err := q.Sample(); err == nil {
			t.Errorf("schedstat %q: no error", bad)
		}
	}
	p.thread("100", "qemu-system-x86", "5000 7 9")
	p.end("102")
	if _, err := q.Sample(); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("vCPU thread gone: %v", err)
	}
}

// TestMeasureHostCPU: measure records the CPU of its measured window and
// its cost per unit of work, or why it has none.
func TestMeasureHostCPU(t *testing.T) {
	p := newFakeProc(t)
	p.thread("100", "qemu-system-x86", "0 0 0")
	p.thread("102", "CPU 0/TCG", "0 0 0")
	q, err := openQEMUCPU(p.root, 100)
	if err != nil {
		t.Fatal(err)
	}
	o := quick()
	o.MaxOps, o.Warmup, o.Duration, o.CPU = 4, 0, time.Minute, q
	ops := 0
	// Each operation moves 1 MB (10^6 bytes) and costs the guest 2 ms of
	// vCPU, 3 ms of QEMU in all.
	work := func(context.Context) (int64, error) {
		ops++
		p.thread("100", "qemu-system-x86", strconv.Itoa(ops*1e6)+" 0 0")
		p.thread("102", "CPU 0/TCG", strconv.Itoa(ops*2e6)+" 0 0")
		return 1e6, nil
	}
	bulk := measure(context.Background(), "bulk", result.KindBulk, o, []op{work})
	h := bulk.HostCPU
	if h == nil || h.Error != "" || bulk.Count != 4 || bulk.Bytes != 4e6 {
		t.Fatalf("bulk: %+v, host CPU %+v", bulk, h)
	}
	if h.VCPUNS != 8e6 || h.QEMUNS != 12e6 || h.VCPUMSPerMB != 2 || h.QEMUMSPerMB != 3 || h.VCPUUSPerReq != 0 {
		t.Errorf("bulk host CPU %+v, want 8 ms, 12 ms, 2 and 3 ms/MB", *h)
	}
	rps := measure(context.Background(), "rps", result.KindRPS, o, []op{work})
	if h := rps.HostCPU; h == nil || rps.Bytes != 0 || h.VCPUUSPerReq != 2000 || h.QEMUUSPerReq != 3000 || h.VCPUMSPerMB != 0 {
		t.Errorf("rps host CPU %+v, want 2000 and 3000 µs per request", h)
	}
	p.end("102")
	gone := measure(context.Background(), "gone", result.KindRPS, o, []op{work})
	if h := gone.HostCPU; h == nil || !strings.Contains(h.Error, "gone") || h.VCPUNS != 0 {
		t.Errorf("vCPU thread gone: host CPU %+v, want an error", h)
	}
	o.CPU = nil
	if none := measure(context.Background(), "none", result.KindRPS, o, []op{work}); none.HostCPU != nil {
		t.Errorf("no QEMU: host CPU %+v", none.HostCPU)
	}
}
