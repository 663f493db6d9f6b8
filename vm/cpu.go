//go:build linux

package vm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of /proc's CPU times (100 on
// every Linux architecture tamanet runs on).
const clockTick = 10 * time.Millisecond

// Thread is one QEMU thread's CPU time so far (user and system). QEMU
// names its threads (qemu.sh asks for debug-threads=on): "CPU 0/TCG" runs
// the guest, others are I/O and the main loop.
type Thread struct {
	TID  int
	Name string
	CPU  time.Duration
}

// CPUTime is QEMU's CPU time so far, all threads.
func (g *Guest) CPUTime(ctx context.Context) (time.Duration, error) {
	pid, err := g.PID(ctx)
	if err != nil {
		return 0, err
	}
	return statCPU(fmt.Sprintf("/proc/%d/stat", pid))
}

// Threads is the CPU time of each of QEMU's threads so far.
func (g *Guest) Threads(ctx context.Context) ([]Thread, error) {
	pid, err := g.PID(ctx)
	if err != nil {
		return nil, err
	}
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil {
		return nil, err
	}
	var ts []Thread
	for _, d := range dirs {
		tid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		cpu, err := statCPU(filepath.Join(d, "stat"))
		if err != nil {
			continue // the thread ended meanwhile
		}
		name, _ := os.ReadFile(filepath.Join(d, "comm"))
		ts = append(ts, Thread{tid, strings.TrimSpace(string(name)), cpu})
	}
	return ts, nil
}

// statCPU reads utime+stime from a /proc stat file.
func statCPU(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. utime and stime are fields 14 and 15 of the line.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: too few fields", path)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad CPU times", path)
	}
	return time.Duration(utime+stime) * clockTick, nil
}
