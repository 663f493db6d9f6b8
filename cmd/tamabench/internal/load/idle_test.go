package load

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestProcCPU(t *testing.T) {
	// A command name with spaces and ')' must not shift the fields.
	stat := "4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 3 0 123 0 0"
	got, err := ProcCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3800 * time.Millisecond; got != want {
		t.Errorf("ProcCPU = %v, want %v (380 ticks)", got, want)
	}
	for _, bad := range []string{"", "4242 qemu S 1", "4242 (q) S 1 2 3", "4242 (q) S 1 2 3 4 5 6 7 8 9 10 x 1"} {
		if _, err := ProcCPU(bad); err == nil {
			t.Errorf("ProcCPU(%q): no error", bad)
		}
	}
}

func TestProcCPUSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	if _, err := ProcCPU(string(b)); err != nil {
		t.Fatalf("own /proc/self/stat: %v", err)
	}
}

func TestCPUPercent(t *testing.T) {
	if got := CPUPercent(100*time.Millisecond, 10*time.Second); got != 1 {
		t.Errorf("100 ms over 10 s = %v%%, want 1%%", got)
	}
	if got := CPUPercent(time.Second, 0); got != 0 {
		t.Errorf("zero wall time = %v, want 0", got)
	}
}

func TestIdleCPUBadPID(t *testing.T) {
	// PID 0 has no /proc entry: the test fails with an error, not a figure.
	tr := IdleCPU(context.Background(), 0, 0, time.Millisecond)
	if tr.Errors != 1 || tr.Count != 0 || tr.FirstError == "" {
		t.Errorf("IdleCPU(pid 0) = %+v, want one error and no figure", tr)
	}
}

func TestIdleCPUSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	tr := IdleCPU(context.Background(), os.Getpid(), 0, 50*time.Millisecond)
	if tr.Errors != 0 || tr.Count != 1 || tr.CPUPercent < 0 {
		t.Errorf("IdleCPU(self) = %+v", tr)
	}
}

func TestCheckOnTap(t *testing.T) {
	if err := CheckOnTap("127.0.0.1:80"); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	for _, a := range []string{"8.8.8.8:80", "example.com:80", "[2001:db8::1]:80", "nonsense"} {
		if err := CheckOnTap(a); err == nil {
			t.Errorf("CheckOnTap(%q): no error", a)
		}
	}
	// 10.255.255.254 is private but on no tap of a test machine.
	if isTap("lo") {
		t.Error("lo taken for a tap")
	}
	if err := CheckOnTap("10.255.255.254:80"); err == nil || !strings.Contains(err.Error(), "tap") {
		t.Errorf("private address on no tap: %v, want a refusal", err)
	}
}
