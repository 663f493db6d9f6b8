//go:build linux

package vm

import (
	"context"
	"io"
	"net/http"
	"time"
)

// HTTPClient is a client whose connections reach the guest (DialContext).
func (g *Guest) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:        g.DialContext,
		DisableCompression: true,
	}}
}

// AwaitHTTP polls url until it answers 200 and returns the moment it did.
// It fails when ctx ends or QEMU does first.
func (g *Guest) AwaitHTTP(ctx context.Context, url string) (time.Time, error) {
	c := g.HTTPClient()
	defer c.CloseIdleConnections()
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		req, err := http.NewRequestWithContext(attempt, http.MethodGet, url, nil)
		if err != nil {
			cancel()
			return time.Time{}, err
		}
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return time.Now(), nil
			}
		}
		cancel()
		if err := g.waitTick(ctx, "HTTP 200 from "+url); err != nil {
			return time.Time{}, err
		}
	}
}
