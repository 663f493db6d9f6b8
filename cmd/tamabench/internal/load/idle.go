package load

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"tamanet/cmd/tamabench/internal/result"
)

// TestIdleCPU names the idle host CPU measurement.
const TestIdleCPU = "idle_cpu"

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports (the kernel keeps it fixed
// for userspace whatever CONFIG_HZ is).
const clockTicks = 100

// ProcCPU parses the contents of /proc/PID/stat and returns the CPU time the
// process (every thread) has used in user and kernel mode. The command name
// (field 2) may hold spaces and parentheses, so fields are counted after the
// last ')'.
func ProcCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat %.40q: no ')' closing the command name", stat)
	}
	// After ')': field 3 (state) is index 0, so utime (14) and stime (15)
	// are indexes 11 and 12.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc stat: utime/stime %q: %w", s, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / clockTicks), nil
}

// readProcCPU returns the CPU time used so far by process pid.
func readProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return ProcCPU(string(b))
}

// CPUPercent is the share of one host core that cpu is of wall, in percent.
func CPUPercent(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * cpu.Seconds() / wall.Seconds()
}

// IdleCPU measures the host CPU that process pid (the QEMU of an idle guest)
// uses over d, after settle has passed without load. No traffic is sent.
// The resolution is one clock tick (10 ms) over d: 0.1% of a core for 10 s.
func IdleCPU(ctx context.Context, pid int, settle, d time.Duration) result.Test {
	t := result.Test{Name: TestIdleCPU, Kind: result.KindIdle}
	fail := func(err error) result.Test {
		t.Errors, t.FirstError = 1, err.Error()
		return t
	}
	if err := sleep(ctx, settle); err != nil {
		return fail(err)
	}
	c0, err := readProcCPU(pid)
	if err != nil {
		return fail(err)
	}
	w0 := time.Now()
	if err := sleep(ctx, d); err != nil {
		return fail(err)
	}
	c1, err := readProcCPU(pid)
	if err != nil {
		return fail(err)
	}
	wall := time.Since(w0)
	t.DurationS, t.Count = wall.Seconds(), 1
	t.CPUPercent = CPUPercent(c1-c0, wall)
	return t
}

func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
