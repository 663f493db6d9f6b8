package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"tamanet/cmd/internal/service"
	"tamanet/cmd/tamabench/internal/result"
)

// Test names, as they appear in results.
const (
	TestKeepAlive = "http_keepalive"
	TestNewConn   = "http_newconn"
	TestTCPEcho   = "tcp_echo"
	TestUDPEcho   = "udp_echo"
	TestDownload  = "download"
	TestUpload    = "upload"
	TestBoot      = "boot"
)

// RPSName is the name of the requests-per-second test at concurrency c.
func RPSName(c int) string { return "rps_c" + strconv.Itoa(c) }

// newClient returns a client that keeps at most one connection, or none
// with keepAlive false. No proxy from the environment is ever used.
func newClient(o Options, keepAlive bool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: o.Timeout}).DialContext,
		DisableKeepAlives:     !keepAlive,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   1,
		MaxConnsPerHost:       1,
		ResponseHeaderTimeout: o.Timeout,
	}}
}

// getOp is one GET of url whose body is read to the end; anything but 200
// is an error.
func getOp(c *http.Client, url string, o Options) op {
	return func(ctx context.Context) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return n, err
	}
}

// HTTPLatency measures sequential GETs of o.Path on one keep-alive
// connection, or with keepAlive false on a new connection per request.
func HTTPLatency(ctx context.Context, addr string, keepAlive bool, o Options) result.Test {
	name := TestNewConn
	if keepAlive {
		name = TestKeepAlive
	}
	c := newClient(o, keepAlive)
	defer c.CloseIdleConnections()
	return measure(ctx, name, result.KindLatency, o, []op{getOp(c, "http://"+addr+o.Path, o)})
}

// RPS measures closed-loop GETs of o.Path from conc workers, each with its
// own keep-alive connection.
func RPS(ctx context.Context, addr string, conc int, o Options) result.Test {
	ops := make([]op, conc)
	for i := range ops {
		c := newClient(o, true)
		defer c.CloseIdleConnections()
		ops[i] = getOp(c, "http://"+addr+o.Path, o)
	}
	return measure(ctx, RPSName(conc), result.KindRPS, o, ops)
}

// Download measures GET /bytes?n=o.BulkBytes on one keep-alive connection
// and checks every byte against the service's pattern.
func Download(ctx context.Context, addr string, o Options) result.Test {
	c := newClient(o, true)
	defer c.CloseIdleConnections()
	url := fmt.Sprintf("http://%s/bytes?n=%d", addr, o.BulkBytes)
	buf := make([]byte, 64<<10)
	f := func(ctx context.Context) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, bulkTimeout(o))
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		return readChecked(c, req, buf, o.BulkBytes, "download", func(off int64, b []byte) error {
			for i, got := range b {
				if want := service.PatternByte(off + int64(i)); got != want {
					return fmt.Errorf("byte %d is %#02x, want %#02x", off+int64(i), got, want)
				}
			}
			return nil
		})
	}
	return bulk(ctx, TestDownload, o, f)
}

// Upload measures POST /echo of o.BulkBytes on one keep-alive connection.
// Every byte also comes back, and is checked; the rate counts the bytes
// sent once.
func Upload(ctx context.Context, addr string, o Options) result.Test {
	c := newClient(o, true)
	defer c.CloseIdleConnections()
	url := "http://" + addr + "/echo"
	body := make([]byte, o.BulkBytes)
	for i := range body {
		body[i] = service.PatternByte(int64(i))
	}
	buf := make([]byte, 64<<10)
	f := func(ctx context.Context) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, bulkTimeout(o))
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		return readChecked(c, req, buf, int64(len(body)), "upload", func(off int64, b []byte) error {
			if off+int64(len(b)) > int64(len(body)) || !bytes.Equal(b, body[off:off+int64(len(b))]) {
				return fmt.Errorf("echo differs within bytes %d-%d", off, off+int64(len(b)))
			}
			return nil
		})
	}
	return bulk(ctx, TestUpload, o, f)
}

// readChecked sends req and reads the answer, a 200 of want bytes, through
// buf, handing each chunk to check with its offset. It returns the bytes
// read; errors name the test.
func readChecked(c *http.Client, req *http.Request, buf []byte, want int64, test string, check func(off int64, b []byte) error) (int64, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s %s: %s", req.Method, req.URL, resp.Status)
	}
	var off int64
	for {
		n, err := resp.Body.Read(buf)
		if cerr := check(off, buf[:n]); cerr != nil {
			return off, fmt.Errorf("%s: %w", test, cerr)
		}
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return off, err
		}
	}
	if off != want {
		return off, fmt.Errorf("%s: %d bytes, want %d", test, off, want)
	}
	return off, nil
}

// bulk runs f sequentially and reports MB/s; the per-request times are not
// a latency of interest and are dropped.
func bulk(ctx context.Context, name string, o Options, f op) result.Test {
	t := measure(ctx, name, result.KindBulk, o, []op{f})
	t.Latency, t.HDR = nil, ""
	t.MBps = float64(t.Bytes) / 1e6 / t.DurationS
	return t
}

// bulkTimeout bounds one bulk request: o.Timeout per started MiB, so a
// target slower than 0.1 MB/s at the default counts as failing, not hung.
func bulkTimeout(o Options) time.Duration {
	return o.Timeout * time.Duration(1+o.BulkBytes>>20)
}
