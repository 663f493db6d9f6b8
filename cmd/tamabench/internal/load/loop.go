package load

import (
	"context"
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
// counts, latency summary and histogram, and rate as a result.Test with
// Name and Kind unset. An operation that started in the warm-up and ended
// after it is neither counted nor timed, but its bytes are credited in
// proportion to the part of it that fell in the measured window, so a bulk
// transfer straddling the end of the warm-up is not lost from the rate.
func measure(ctx context.Context, name string, o Options, ops []op) result.Test {
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
		if o.Progress != nil {
			time.Sleep(time.Until(from))
			o.Progress.watch(name, from, o.Duration, &ok, &bad, stop)
		}
	}()
	wg.Wait()
	end := time.Now()
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
	return t
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
