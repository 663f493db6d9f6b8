package load

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"tamanet/cmd/tamabench/internal/tail"
)

// hostWaitEvery is how often HostWaits samples: the resolution at which a
// request's share of the waits is known.
const hostWaitEvery = time.Millisecond

// HostWaits samples how long the guest's QEMU threads have waited for a
// host CPU while runnable (run_delay in /proc/PID/task/TID/schedstat): the
// virtual CPU's thread ("CPU 0/TCG", named by qemu.sh's debug-threads=on)
// and the main loop's, which moves the network's packets. On a busy host
// they are a request's delay that no guest trace can show.
type HostWaits struct {
	vcpu, main string // schedstat paths
	stop       chan struct{}
	done       chan struct{}
	mu         sync.Mutex
	samples    []tail.HostSample
}

// StartHostWaits finds QEMU's threads under /proc/pid and samples them
// every millisecond until Stop.
func StartHostWaits(pid int) (*HostWaits, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	h := &HostWaits{main: filepath.Join(dir, strconv.Itoa(pid), "schedstat"),
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, t := range tasks {
		comm, err := os.ReadFile(filepath.Join(dir, t.Name(), "comm"))
		if err == nil && strings.HasPrefix(string(comm), "CPU 0/") {
			h.vcpu = filepath.Join(dir, t.Name(), "schedstat")
		}
	}
	if h.vcpu == "" {
		return nil, fmt.Errorf("QEMU %d has no thread named \"CPU 0/...\" (qemu -name ...,debug-threads=on)", pid)
	}
	if _, err := h.sample(); err != nil {
		return nil, err
	}
	go h.run()
	return h, nil
}

// runDelay reads run_delay (the second field, ns) of a schedstat file.
func runDelay(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("%s: %q", path, b)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	return time.Duration(ns), err
}

func (h *HostWaits) sample() (tail.HostSample, error) {
	v, err := runDelay(h.vcpu)
	if err != nil {
		return tail.HostSample{}, err
	}
	m, err := runDelay(h.main)
	if err != nil {
		return tail.HostSample{}, err
	}
	s := tail.HostSample{At: time.Now(), VCPU: v, Main: m}
	h.mu.Lock()
	h.samples = append(h.samples, s)
	h.mu.Unlock()
	return s, nil
}

func (h *HostWaits) run() {
	defer close(h.done)
	t := time.NewTicker(hostWaitEvery)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			h.sample()
			return
		case <-t.C:
			if _, err := h.sample(); err != nil {
				return // QEMU is gone
			}
		}
	}
}

// Stop ends the sampling and returns the samples, oldest first.
func (h *HostWaits) Stop() []tail.HostSample {
	close(h.stop)
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.samples
}
