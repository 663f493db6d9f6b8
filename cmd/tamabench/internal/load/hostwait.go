package load

import (
	"fmt"
	"path/filepath"
	"strconv"
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
	vcpu, err := vcpuThread(dir)
	if err != nil {
		return nil, err
	}
	h := &HostWaits{vcpu: filepath.Join(dir, vcpu, "schedstat"), main: filepath.Join(dir, strconv.Itoa(pid), "schedstat"),
		stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := h.sample(); err != nil {
		return nil, err
	}
	go h.run()
	return h, nil
}

func (h *HostWaits) sample() (tail.HostSample, error) {
	_, v, err := schedstat(h.vcpu)
	if err != nil {
		return tail.HostSample{}, err
	}
	_, m, err := schedstat(h.main)
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
