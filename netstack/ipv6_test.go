package netstack

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// TestDualStackListeners: one ListenTCP and one ListenUDP serve IPv4, IPv6
// link-local and a static IPv6 address alike.
func TestDualStackListeners(t *testing.T) {
	na, nb := newWire()
	t.Cleanup(func() { na.shutdown(); nb.shutdown() })
	a6, b6 := netip.MustParsePrefix("fd00:1::15/64"), netip.MustParsePrefix("fd00:1::2/64")
	a, err := NewStack(na, Config{Addr: addrA, Gateway: addrB.Addr(), Addr6: a6})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewStack(nb, Config{Addr: addrB, Gateway: addrA.Addr(), Addr6: b6})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := []netip.Prefix{addrB, b6, netip.PrefixFrom(b.LinkLocal(), 64)} // address order
	if got := b.Addrs(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("B's addresses %v, want %v", got, want)
	}

	c := serveHTTP(t, b, a) // B's port 80, dual-stack
	pc, err := b.ListenUDP(7)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	for _, dst := range []netip.Addr{addrB.Addr(), b.LinkLocal(), b6.Addr()} {
		t.Run(dst.String(), func(t *testing.T) {
			// DAD of the IPv6 addresses runs first: retry until it is done.
			var body []byte
			eventually(t, "GET /hello over "+dst.String(), func() bool {
				resp, err := c.Get("http://" + netip.AddrPortFrom(dst, 80).String() + "/hello")
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				body, _ = io.ReadAll(resp.Body)
				return resp.StatusCode == 200
			})
			// The server sees an IPv4 peer as IPv4-mapped.
			if want := "hello "; !strings.HasPrefix(string(body), want) {
				t.Errorf("body %q", body)
			}
			if got := udpEcho(t, a, dst, "datagram to "+dst.String()); got != "datagram to "+dst.String() {
				t.Errorf("UDP echo %q", got)
			}
		})
	}
}

// udpEcho sends msg from st to dst:7 and returns the reply.
func udpEcho(t *testing.T, st *Stack, dst netip.Addr, msg string) string {
	t.Helper()
	remote := tcpip.FullAddress{Addr: tcpip.AddrFromSlice(dst.AsSlice()), Port: 7}
	proto := ipv6.ProtocolNumber
	if dst.Is4() {
		proto = ipv4.ProtocolNumber
	} else {
		remote.NIC = NICID
	}
	c, err := gonet.DialUDP(st.s, nil, &remote, proto)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for try := 0; try < 20; try++ {
		c.SetDeadline(time.Now().Add(250 * time.Millisecond))
		if _, err := c.Write([]byte(msg)); err != nil {
			continue
		}
		n, err := c.Read(buf)
		if err == nil {
			return string(buf[:n])
		}
	}
	return ""
}
