package load

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"tamanet/cmd/tamabench/internal/result"
)

// TCPEcho measures the round trip of o.EchoSize bytes over one TCP echo
// connection, redialled after an error.
func TCPEcho(ctx context.Context, addr string, o Options) result.Test {
	var c net.Conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	out := make([]byte, o.EchoSize)
	in := make([]byte, o.EchoSize)
	var seq uint64
	f := func(ctx context.Context) (int64, error) {
		if c == nil {
			d := net.Dialer{Timeout: o.Timeout}
			nc, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return 0, err
			}
			c = nc
		}
		seq++
		binary.BigEndian.PutUint64(out, seq)
		c.SetDeadline(time.Now().Add(o.Timeout))
		_, err := c.Write(out)
		if err == nil {
			_, err = io.ReadFull(c, in)
		}
		if err == nil && !bytes.Equal(in, out) {
			err = fmt.Errorf("tcp echo: reply differs from request %d", seq)
		}
		if err != nil {
			c.Close()
			c = nil
			return 0, err
		}
		return int64(len(in)), nil
	}
	return measure(ctx, TestTCPEcho, result.KindLatency, o, []op{f})
}

// UDPEcho measures the round trip of o.EchoSize-byte datagrams. Each carries
// a sequence number; a reply not seen within o.Timeout counts as lost (an
// error), and late replies to earlier datagrams are skipped.
func UDPEcho(ctx context.Context, addr string, o Options) result.Test {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return result.Test{Name: TestUDPEcho, Kind: result.KindLatency, Errors: 1, FirstError: err.Error()}
	}
	defer c.Close()
	out := make([]byte, o.EchoSize)
	in := make([]byte, 65536)
	var seq uint64
	f := func(ctx context.Context) (int64, error) {
		seq++
		binary.BigEndian.PutUint64(out, seq)
		if _, err := c.Write(out); err != nil {
			return 0, err
		}
		c.SetReadDeadline(time.Now().Add(o.Timeout))
		for {
			n, err := c.Read(in)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, fmt.Errorf("udp echo: datagram %d lost (no reply within %v)", seq, o.Timeout)
			}
			if err != nil {
				return 0, err
			}
			if n >= 8 && binary.BigEndian.Uint64(in) < seq {
				continue // a late reply to a datagram already counted lost
			}
			if n != len(out) || !bytes.Equal(in[:n], out) {
				return 0, fmt.Errorf("udp echo: reply to %d differs from request", seq)
			}
			return int64(n), nil
		}
	}
	return measure(ctx, TestUDPEcho, result.KindLatency, o, []op{f})
}
