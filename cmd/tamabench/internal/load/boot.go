package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"tamanet/cmd/tamabench/internal/result"
)

// Boot polling: a new attempt starts every interval without waiting for
// earlier ones, up to maxInFlight at once. While a guest's link is still
// down, QEMU's user net forwards the SYN and the guest drops it; an attempt
// that waited for it would see the guest only after slirp's retransmission
// timeout, seconds late. Overlapping attempts keep the resolution at about
// one interval.
const (
	maxInFlight    = 64
	attemptTimeout = 5 * time.Second
)

// WaitFirst200 polls GET url until it answers 200 and reports the time from
// start (e.g. the instant QEMU was launched) to that answer. Failed attempts
// (refused, reset, timed out, not 200: the guest is still booting) are
// counted in Errors. It gives up when ctx ends.
func WaitFirst200(ctx context.Context, url string, start time.Time, interval time.Duration) (result.Test, error) {
	t := result.Test{Name: TestBoot, Kind: result.KindBoot}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // abandons attempts still in flight after the first 200
	c := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   attemptTimeout,
	}
	type answer struct {
		at  time.Time
		err error
	}
	answers := make(chan answer, maxInFlight)
	attempt := func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err == nil {
			var resp *http.Response
			if resp, err = c.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("GET %s: %s", url, resp.Status)
				}
			}
		}
		answers <- answer{time.Now(), err}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	inFlight := 0
	spawn := func() {
		if inFlight < maxInFlight {
			inFlight++
			go attempt()
		}
	}
	spawn()
	var last error
	for {
		select {
		case a := <-answers:
			inFlight--
			if a.err == nil {
				el := a.at.Sub(start)
				t.Count, t.ElapsedMS, t.DurationS = 1, float64(el)/1e6, el.Seconds()
				return t, nil
			}
			if ctx.Err() == nil {
				last = a.err
				t.Errors++
				if t.FirstError == "" {
					t.FirstError = a.err.Error()
				}
			}
		case <-tick.C:
			spawn()
		case <-ctx.Done():
			return t, fmt.Errorf("no 200 from %s after %v (%d failed attempts, last: %v)",
				url, time.Since(start).Round(time.Millisecond), t.Errors, last)
		}
	}
}
