// Package rng drives a virtio entropy device (Virtual I/O Device
// specification 1.2, section 5.4; QEMU's -device virtio-rng-pci or, on
// microvm, virtio-rng-device) over any virtio.Transport: one request
// queue, to which the driver posts device-writable buffers that the device
// fills with entropy.
// It is what the unikernel seeds its random numbers from on a CPU without
// RDRAND, as Linux's hw_random feeds the kernel's pool.
//
// The driver polls the used ring instead of taking interrupts: entropy is
// read rarely (a seed at boot, a reseed now and then), and polling keeps
// the driver free of interrupt routing.
package rng

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"tamanet/virtio"
)

// requestQueue is the entropy device's only queue (5.4.2).
const requestQueue = 0

// Defaults for zero Config fields.
const (
	DefaultBufferSize = 64
	DefaultTimeout    = time.Second
	pollPeriod        = 50 * time.Microsecond
)

// ErrClosed is a read from a device the driver gave up on.
var ErrClosed = errors.New("virtio-rng: device failed earlier")

// Config tunes a device. The zero value gives the defaults.
type Config struct {
	// BufferSize is the largest request, in bytes (DefaultBufferSize).
	BufferSize int
	// Timeout bounds the wait for one request (DefaultTimeout).
	Timeout time.Duration
	// Sleep waits between polls of the used ring; nil means time.Sleep.
	Sleep func(time.Duration)
}

// Stats counts the driver's work.
type Stats struct {
	// Requests and Bytes count completed requests and the entropy they
	// brought.
	Requests uint64 `json:"requests"`
	Bytes    uint64 `json:"bytes"`
	// Empty counts requests the device completed with no data.
	Empty uint64 `json:"empty"`
	// Timeouts counts requests not completed within Config.Timeout.
	Timeouts uint64 `json:"timeouts"`
}

// RNG is one virtio entropy device. Read is safe for concurrent use.
type RNG struct {
	mu     sync.Mutex
	dev    *virtio.Device
	q      *virtio.Queue
	buf    []byte
	bufBus uint64
	cfg    Config
	failed bool
	st     Stats
}

// New initialises the device behind t (3.1.1): reset, no features to
// negotiate (5.4.3) beyond VIRTIO_F_VERSION_1 on a modern transport, the
// request queue in memory from dma, DRIVER_OK.
func New(t virtio.Transport, dma virtio.DMA, cfg Config) (*RNG, error) {
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Sleep == nil {
		cfg.Sleep = time.Sleep
	}
	dev, err := virtio.Init(t, 0)
	if err != nil {
		return nil, err
	}
	r := &RNG{dev: dev, cfg: cfg}
	if r.q, err = virtio.NewQueue(t, requestQueue, 0, dma, virtio.NoVector, false); err != nil {
		dev.Fail()
		return nil, err
	}
	r.q.DisableInterrupts() // the driver polls
	if r.buf, r.bufBus, err = dma.Alloc(cfg.BufferSize, 16); err != nil || len(r.buf) < cfg.BufferSize {
		dev.Fail()
		return nil, fmt.Errorf("virtio-rng: request buffer: %w", errors.Join(virtio.ErrDMA, err))
	}
	r.buf = r.buf[:cfg.BufferSize]
	if err := dev.Ready(); err != nil {
		return nil, err
	}
	return r, nil
}

// Read fills p with entropy from the device, one request of at most
// Config.BufferSize bytes at a time. It returns an error if a request
// fails to complete in time or the device reports a failure; the bytes
// read until then are valid.
func (r *RNG) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed {
		return 0, ErrClosed
	}
	n := 0
	for n < len(p) {
		got, err := r.request(min(len(p)-n, len(r.buf)))
		n += copy(p[n:], r.buf[:got])
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// request asks the device for size bytes in the buffer and waits for the
// answer, polling. Called with r.mu held.
func (r *RNG) request(size int) (int, error) {
	id, err := r.q.Add(virtio.Buffer{Addr: r.bufBus, Len: uint32(size), Write: true})
	if err != nil {
		return 0, err
	}
	r.q.Kick()
	for waited := time.Duration(0); ; waited += pollPeriod {
		if u, ok := r.q.Get(); ok {
			got, written := u.Head, u.Len
			if u.Err != nil || got != id || int(written) > size {
				return 0, r.fail(fmt.Errorf("virtio-rng: device answered request %d with %d (%d bytes of %d): %v", id, got, written, size, u.Err))
			}
			r.st.Requests++
			r.st.Bytes += uint64(written)
			if written == 0 {
				r.st.Empty++
			}
			return int(written), nil
		}
		if err := r.dev.Check(); err != nil {
			return 0, r.fail(err)
		}
		if waited >= r.cfg.Timeout {
			r.st.Timeouts++
			// The request stays with the device, which may still write
			// the buffer: the driver cannot reuse it, so it gives up.
			return 0, r.fail(fmt.Errorf("%w: %d bytes of entropy after %v", virtio.ErrTimeout, size, r.cfg.Timeout))
		}
		r.cfg.Sleep(pollPeriod)
	}
}

// fail marks the device unusable and tells it so.
func (r *RNG) fail(err error) error {
	r.failed = true
	r.dev.Fail()
	return err
}

// Stats returns a snapshot of the counters.
func (r *RNG) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}
