package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"tamanet/cmd/tamabench/internal/result"
)

// WaitFirst200 polls GET url every interval until it answers 200 and reports
// the time from start (e.g. the instant QEMU was launched) to that answer.
// Failed attempts (refused, reset, timeouts: the guest is still booting) are
// counted in Errors. It gives up when ctx ends.
func WaitFirst200(ctx context.Context, url string, start time.Time, interval time.Duration) (result.Test, error) {
	t := result.Test{Name: TestBoot, Kind: result.KindBoot}
	c := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		// A guest whose stack is up answers well within this even under
		// TCG; a shorter wait would count slow answers as failures.
		Timeout: 2 * time.Second,
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return t, err
		}
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				el := time.Since(start)
				t.Count, t.ElapsedMS, t.DurationS = 1, float64(el)/1e6, el.Seconds()
				return t, nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		t.Errors++
		if t.FirstError == "" {
			t.FirstError = err.Error()
		}
		select {
		case <-ctx.Done():
			return t, fmt.Errorf("no 200 from %s after %v (%d attempts, last: %v)", url, time.Since(start).Round(time.Millisecond), t.Errors, err)
		case <-tick.C:
		}
	}
}
