package load

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"tamanet/cmd/tamabench/internal/hist"
	"tamanet/cmd/tamabench/internal/result"
)

// op performs one operation and returns the payload bytes it moved.
type op func(ctx context.Context) (int64, error)

// errorPause keeps a failing target (refused connections) from turning a
// worker into a busy loop.
const errorPause = 10 * time.Millisecond

// measure runs each op in its own worker, first for o.Warmup unrecorded,
// then for o.Duration (or o.MaxOps operations) recorded, and returns the
// counts, latency summary and histogram, and rate as test name of kind,
// with the guest's host CPU over the recorded window if o.CPU is set. Only
// bulk tests keep the payload bytes. An operation that started in the
// warm-up and ended after it is neither counted nor timed, but its bytes
// are credited in proportion to the part of it that fell in the measured
// window, so a bulk transfer straddling the end of the warm-up is not lost
// from the rate (nor from the CPU per MB: the window's CPU starts then).
func measure(ctx context.Context, name, kind string, o Options, ops []op) result.Test {
	var (
		ok, bad  atomic.Uint64
		bytes    atomic.Uint64
		firstErr atomic.Pointer[string]
		wg       sync.WaitGroup
	)
	start := time.Now()
	from := start.Add(o.Warmup)
	until := from.Add(o.Duration)
	if o.Duration <= 0 {
		until = from.Add(100 * 365 * 24 * time.Hour) // bounded by MaxOps
	}
	// The window's first CPU reading: now without a warm-up, before any
	// operation runs; else when the warm-up ends.
	var cpu0 cpuReading
	if o.Warmup <= 0 {
		cpu0 = readCPU(o.CPU)
	}
	hs := make([]*hist.Histogram, len(ops))
	for i, f := range ops {
		hs[i] = hist.New()
		wg.Add(1)
		go func(h *hist.Histogram, f op) {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(until) || (o.MaxOps > 0 && ok.Load()+bad.Load() >= uint64(o.MaxOps)) {
					return
				}
				n, err := f(ctx)
				t1 := time.Now()
				warm := t0.Before(from)
				if err != nil {
					if !warm && ctx.Err() == nil {
						bad.Add(1)
						msg := err.Error()
						firstErr.CompareAndSwap(nil, &msg)
					}
					time.Sleep(errorPause)
					continue
				}
				if warm {
					bytes.Add(uint64(straddleCredit(n, t0, t1, from)))
					continue
				}
				h.Record(t1.Sub(t0))
				if o.Samples != nil {
					o.Samples.add(t0, t1)
				}
				ok.Add(1)
				bytes.Add(uint64(n))
			}
		}(hs[i], f)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait := time.NewTimer(time.Until(from))
		defer wait.Stop()
		select {
		case <-wait.C:
		case <-stop:
			return // ended in the warm-up (cancelled)
		}
		if o.Warmup > 0 {
			cpu0 = readCPU(o.CPU)
		}
		if o.Progress != nil {
			o.Progress.watch(name, from, o.Duration, &ok, &bad, stop)
		}
	}()
	wg.Wait()
	end := time.Now()
	cpu1 := readCPU(o.CPU)
	close(stop)
	<-done

	all := hist.New()
	for _, h := range hs {
		all.Merge(h)
	}
	el := end.Sub(from)
	if el <= 0 {
		el = time.Nanosecond
	}
	t := result.Test{
		Name:        name,
		Kind:        kind,
		Concurrency: len(ops),
		DurationS:   el.Seconds(),
		Count:       ok.Load(),
		Errors:      bad.Load(),
		Latency:     all.Summary(),
		RPS:         float64(ok.Load()) / el.Seconds(),
		Bytes:       bytes.Load(),
	}
	if p := firstErr.Load(); p != nil {
		t.FirstError = *p
	}
	if t.Count > 0 {
		t.HDR, _ = all.Encode() // a histogram this package built always encodes
	}
	if kind != result.KindBulk {
		t.Bytes = 0 // an echo's or a GET's payload is no throughput
	}
	if o.CPU != nil {
		setHostCPU(&t, cpu0, cpu1)
	}
	return t
}

// cpuReading is a sample of a QEMUCPU taken at one end of the measured
// window (taken false: the window never began).
type cpuReading struct {
	taken bool
	s     CPUSample
	err   error
}

func readCPU(q *QEMUCPU) cpuReading {
	if q == nil {
		return cpuReading{}
	}
	s, err := q.Sample()
	return cpuReading{true, s, err}
}

// setHostCPU records on t the host CPU used between the window's two
// readings, or why there is none.
func setHostCPU(t *result.Test, start, end cpuReading) {
	var err error
	switch {
	case !start.taken:
		err = fmt.Errorf("the test ended before its measured window began")
	case start.err != nil:
		err = start.err
	case end.err != nil:
		err = end.err
	}
	if err != nil {
		t.HostCPU = &result.HostCPU{Error: "host CPU: " + err.Error()}
		return
	}
	t.SetHostCPU(end.s.Since(start.s))
}

// straddleCredit is the share of n bytes, moved by an operation from t0 to
// t1, that falls after from: none if it ended by then, pro rata if it
// straddles it.
func straddleCredit(n int64, t0, t1, from time.Time) int64 {
	if !t1.After(from) || n <= 0 {
		return 0
	}
	return int64(float64(n) * float64(t1.Sub(from)) / float64(t1.Sub(t0)))
}
