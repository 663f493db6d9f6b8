package netstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/waiter"

	"tamanet/netif"
)

// Addresses of the two test stacks; B is A's gateway and vice versa.
var (
	addrA = netip.MustParsePrefix("10.0.2.15/24")
	addrB = netip.MustParsePrefix("10.0.2.2/24")
)

// pair is two stacks wired back to back, through the in-test fake driver
// or, in the integration test, the e1000 driver on the device model.
type pair struct {
	a, b *Stack
}

// newStacks builds stack A on da and stack B on db and closes both when the
// test ends.
func newStacks(t testing.TB, da, db netif.Driver) *pair { return newStacksWith(t, da, db, Config{}) }

// newStacksWith is newStacks with cfg's options on both stacks; the
// addresses are the pair's.
func newStacksWith(t testing.TB, da, db netif.Driver, cfg Config) *pair {
	t.Helper()
	ca, cb := cfg, cfg
	ca.Addr, ca.Gateway = addrA, addrB.Addr()
	cb.Addr, cb.Gateway = addrB, addrA.Addr()
	a, err := NewStack(da, ca)
	if err != nil {
		t.Fatalf("NewStack A: %v", err)
	}
	b, err := NewStack(db, cb)
	if err != nil {
		a.Close()
		t.Fatalf("NewStack B: %v", err)
	}
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return &pair{a: a, b: b}
}

// newStack is NewStack, closed when the test ends.
func newStack(t testing.TB, d netif.Driver, cfg Config) *Stack {
	t.Helper()
	st, err := NewStack(d, cfg)
	if err != nil {
		t.Fatalf("NewStack: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// newFakePair wires two stacks through the fake driver pair.
func newFakePair(t testing.TB) (*pair, *fakeNIC, *fakeNIC) {
	na, nb := newWire()
	t.Cleanup(func() {
		na.shutdown()
		nb.shutdown()
	})
	return newStacks(t, na, nb), na, nb
}

// eventually polls cond until it holds or a generous deadline passes. The
// deadline only guards against hangs; no test asserts on speed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ping sends one ICMP echo request from st to dst through gVisor's ping
// socket and waits for the matching reply.
func ping(st *Stack, dst netip.Addr, payload []byte) error {
	var wq waiter.Queue
	transProto, netProto := icmp.ProtocolNumber4, ipv4.ProtocolNumber
	msg := make([]byte, header.ICMPv4MinimumSize+len(payload))
	to := tcpip.FullAddress{NIC: NICID}
	if dst.Is4() {
		header.ICMPv4(msg).SetType(header.ICMPv4Echo)
		to.Addr = tcpip.AddrFrom4(dst.As4())
	} else {
		transProto, netProto = icmp.ProtocolNumber6, ipv6.ProtocolNumber
		header.ICMPv6(msg).SetType(header.ICMPv6EchoRequest)
		to.Addr = tcpip.AddrFrom16(dst.As16())
	}
	copy(msg[header.ICMPv4MinimumSize:], payload)

	ep, terr := st.Netstack().NewEndpoint(transProto, netProto, &wq)
	if terr != nil {
		return fmt.Errorf("ping endpoint: %s", terr)
	}
	defer ep.Close()
	we, readable := waiter.NewChannelEntry(waiter.ReadableEvents)
	wq.EventRegister(&we)
	defer wq.EventUnregister(&we)

	if _, terr := ep.Write(bytes.NewReader(msg), tcpip.WriteOptions{To: &to}); terr != nil {
		return fmt.Errorf("ping write: %s", terr)
	}
	for {
		select {
		case <-readable:
		case <-time.After(2 * time.Second):
			return fmt.Errorf("no echo reply from %v", dst)
		}
		var reply bytes.Buffer
		if _, terr := ep.Read(&reply, tcpip.ReadOptions{}); terr != nil {
			if _, ok := terr.(*tcpip.ErrWouldBlock); ok {
				continue
			}
			return fmt.Errorf("ping read: %s", terr)
		}
		b := reply.Bytes()
		if len(b) < header.ICMPv4MinimumSize || !bytes.Equal(b[header.ICMPv4MinimumSize:], payload) {
			return fmt.Errorf("bad echo reply % x", b)
		}
		return nil
	}
}

// blob is n bytes of deterministic pseudo-random data for seed.
func blob(seed uint64, n int64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// sumOf is the hex sha256 of r's content.
func sumOf(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// serveHTTP runs an http.Server on st's port 80 with /hello, /blob (GET:
// streams ?n bytes of seed ?seed) and /sum (POST: replies with the body's
// sha256), and returns a client that dials through from.
func serveHTTP(t testing.TB, st, from *Stack) *http.Client {
	t.Helper()
	l, err := st.ListenTCP(80)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.RemoteAddr)
	})
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) {
		var seed uint64
		var n int64
		fmt.Sscan(r.URL.Query().Get("seed"), &seed)
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		io.Copy(w, blob(seed, n))
	})
	mux.HandleFunc("/sum", func(w http.ResponseWriter, r *http.Request) {
		sum, _, err := sumOf(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, sum)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return nil, err
			}
			return from.DialTCP(ctx, ap)
		},
	}}
}

// fetchSum GETs n bytes of seed from url and returns their sha256.
func fetchSum(c *http.Client, url string, seed uint64, n int64) (string, error) {
	resp, err := c.Get(fmt.Sprintf("%s/blob?seed=%d&n=%d", url, seed, n))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	sum, got, err := sumOf(resp.Body)
	if err == nil && got != n {
		err = fmt.Errorf("got %d bytes, want %d", got, n)
	}
	return sum, err
}

// postSum POSTs n bytes of seed to url and returns the sha256 the server
// computed.
func postSum(c *http.Client, url string, seed uint64, n int64) (string, error) {
	resp, err := c.Post(url+"/sum", "application/octet-stream", blob(seed, n))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// wantSum is the sha256 of n bytes of seed.
func wantSum(seed uint64, n int64) string {
	s, _, _ := sumOf(blob(seed, n))
	return s
}

// transferBothWays moves n bytes each way over HTTP between the stacks and
// checks both sha256 sums.
func transferBothWays(t testing.TB, c *http.Client, url string, n int64) {
	t.Helper()
	errs := make(chan error, 2)
	go func() {
		sum, err := fetchSum(c, url, 1, n)
		if err == nil && sum != wantSum(1, n) {
			err = fmt.Errorf("download sha256 %s, want %s", sum, wantSum(1, n))
		}
		errs <- err
	}()
	go func() {
		sum, err := postSum(c, url, 2, n)
		if err == nil && sum != wantSum(2, n) {
			err = fmt.Errorf("upload sha256 %q, want %s", sum, wantSum(2, n))
		}
		errs <- err
	}()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// benchTCP measures one TCP stream from A to B, 64 KiB per iteration.
func benchTCP(b *testing.B, p *pair) {
	l, err := p.b.ListenTCP(5001)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		got <- n
	}()
	c, err := p.a.DialTCP(context.Background(), netip.AddrPortFrom(addrB.Addr(), 5001))
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if n := <-got; n != int64(b.N)*int64(len(chunk)) {
		b.Fatalf("received %d bytes, sent %d", n, int64(b.N)*int64(len(chunk)))
	}
}

// benchEcho measures an echo over TCP, as POST /echo: A sends 64 KiB per
// iteration to an echo server on B and reads it back concurrently.
func benchEcho(b *testing.B, p *pair) {
	l, err := p.b.ListenTCP(5002)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	c, err := p.a.DialTCP(context.Background(), netip.AddrPortFrom(addrB.Addr(), 5002))
	if err != nil {
		b.Fatal(err)
	}
	back := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, c)
		back <- n
	}()
	chunk := make([]byte, 64<<10)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	if n := <-back; n != int64(b.N)*int64(len(chunk)) {
		b.Fatalf("echoed %d bytes, sent %d", n, int64(b.N)*int64(len(chunk)))
	}
	c.Close()
}
