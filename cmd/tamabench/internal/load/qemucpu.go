package load

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// QEMUCPU reads how long the guest's QEMU has run on a host CPU, from
// /proc/PID/task/TID/schedstat (its first field: ns on a CPU, exact, where
// /proc's utime and stime count 10 ms ticks): the virtual CPU's thread,
// which runs the guest's code, and every thread of the process, which adds
// the main loop's tap reads and writes and the device model's work.
type QEMUCPU struct {
	tasks string // /proc/PID/task
	vcpu  string // the virtual CPU thread's TID
}

// CPUSample is one reading of a QEMUCPU.
type CPUSample struct {
	VCPU    time.Duration
	Threads map[string]time.Duration // by TID
}

// OpenQEMUCPU finds the virtual CPU thread of QEMU process pid.
func OpenQEMUCPU(pid int) (*QEMUCPU, error) { return openQEMUCPU("/proc", pid) }

// openQEMUCPU is OpenQEMUCPU under the /proc tree at root (a fake in tests).
func openQEMUCPU(root string, pid int) (*QEMUCPU, error) {
	tasks := filepath.Join(root, strconv.Itoa(pid), "task")
	vcpu, err := vcpuThread(tasks)
	if err != nil {
		return nil, err
	}
	return &QEMUCPU{tasks: tasks, vcpu: vcpu}, nil
}

// vcpuThread returns the TID of the thread named "CPU 0/..." ("CPU 0/TCG",
// "CPU 0/KVM": QEMU names its threads with -name ...,debug-threads=on, as
// qemu.sh starts it) under the task directory tasks.
func vcpuThread(tasks string) (string, error) {
	ents, err := os.ReadDir(tasks)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		comm, err := os.ReadFile(filepath.Join(tasks, e.Name(), "comm"))
		if err == nil && strings.HasPrefix(string(comm), "CPU 0/") {
			return e.Name(), nil
		}
	}
	return "", fmt.Errorf("%s: no thread named \"CPU 0/...\" (qemu -name ...,debug-threads=on)", tasks)
}

// Sample reads the CPU time of every thread. A thread that ends between
// listing and reading is left out; the virtual CPU thread must be there.
func (q *QEMUCPU) Sample() (CPUSample, error) {
	ents, err := os.ReadDir(q.tasks)
	if err != nil {
		return CPUSample{}, err
	}
	s := CPUSample{Threads: make(map[string]time.Duration, len(ents))}
	for _, e := range ents {
		on, _, err := schedstat(filepath.Join(q.tasks, e.Name(), "schedstat"))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return CPUSample{}, err
		}
		s.Threads[e.Name()] = on
	}
	v, ok := s.Threads[q.vcpu]
	if !ok {
		return CPUSample{}, fmt.Errorf("%s: the virtual CPU thread %s is gone", q.tasks, q.vcpu)
	}
	s.VCPU = v
	return s, nil
}

// Since is the CPU time used from before to s: by the virtual CPU thread,
// and by all threads. A thread started in between counts in full; one that
// ended in between is missing from s, and so is its time since before
// (QEMU's long-lived threads do the network's work).
func (s CPUSample) Since(before CPUSample) (vcpu, all time.Duration) {
	for tid, t := range s.Threads {
		all += t - before.Threads[tid]
	}
	return s.VCPU - before.VCPU, all
}

// schedstat reads a /proc schedstat file: the time the task has run on a
// CPU and the time it has waited runnable for one (run_delay), both ns.
func schedstat(path string) (onCPU, runDelay time.Duration, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("%s: %q: want at least 2 fields", path, b)
	}
	var ns [2]int64
	for i := range ns {
		if ns[i], err = strconv.ParseInt(f[i], 10, 64); err != nil || ns[i] < 0 {
			return 0, 0, fmt.Errorf("%s: field %d %q: not a count of ns", path, i+1, f[i])
		}
	}
	return time.Duration(ns[0]), time.Duration(ns[1]), nil
}
