package dhcpclient

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

var (
	leaseA = netip.MustParsePrefix("10.0.2.15/24")
	leaseB = netip.MustParsePrefix("10.0.2.31/24")
	dnsA   = netip.MustParseAddr("10.0.2.3")
	dnsB   = netip.MustParseAddr("10.0.2.4")
)

// TestAcquire: DISCOVER, OFFER, REQUEST, ACK, and the lease applied as the
// server gave it; the messages are what RFC 2131 asks of a client without
// an address.
func TestAcquire(t *testing.T) {
	t.Parallel()
	lo := leaseOpts{addr: leaseA, gw: serverAddr, dns: []netip.Addr{dnsA, dnsB}, lease: 3600}
	c, srv, h := startClient(t, answer(lo))
	l := h.awaitLease(t)
	if l.Addr != leaseA || l.Gateway != serverAddr || len(l.DNS) != 2 || l.DNS[1] != dnsB || l.Server != serverAddr ||
		l.Duration != time.Hour || l.T1 != 30*time.Minute || l.T2 != 3600*7/8*time.Second {
		t.Errorf("lease %+v", l)
	}
	if got, err := c.WaitLease(context.Background()); err != nil || got.Addr != leaseA {
		t.Errorf("WaitLease = %v, %v", got, err)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want DISCOVER and REQUEST", len(reqs))
	}
	d, r := reqs[0], reqs[1]
	if d.typ != layers.DHCPMsgTypeDiscover || r.typ != layers.DHCPMsgTypeRequest {
		t.Fatalf("sent %v, %v", d.typ, r.typ)
	}
	for _, m := range reqs {
		if m.dst != limitedBroadcast || !m.broadcast || m.ciaddr.IsValid() && !m.ciaddr.IsUnspecified() || m.len < minMessageLen {
			t.Errorf("%v: to %v broadcast flag %v ciaddr %v, %d bytes; want 255.255.255.255:67, flag, 0.0.0.0, >= %d",
				m.typ, m.dst, m.broadcast, m.ciaddr, m.len, minMessageLen)
		}
	}
	if r.msg.Xid != d.msg.Xid || r.requested != leaseA.Addr() || r.server != serverAddr {
		t.Errorf("REQUEST xid %x (DISCOVER %x), requested %v, server %v", r.msg.Xid, d.msg.Xid, r.requested, r.server)
	}
	wantStats(t, c, func(s Stats) bool {
		return s.State == "bound" &&
			s.Address == "10.0.2.15/24" &&
			s.Server == "10.0.2.2" &&
			s.LeaseSeconds == 3600 &&
			s.Discovers == 1 &&
			s.Requests == 1 &&
			s.Offers == 1 &&
			s.Acks == 1 &&
			s.Leases == 1 &&
			s.Malformed+s.Ignored+s.Naks == 0
	})
}

// TestRenewal: at T1 the client asks the server that gave the lease,
// unicast from its address, and applies what the ACK says, changes
// included.
func TestRenewal(t *testing.T) {
	t.Parallel()
	var renewed atomic.Bool
	first := leaseOpts{addr: leaseA, gw: serverAddr, dns: []netip.Addr{dnsA}, lease: 6, t1: 1, t2: 5}
	second := leaseOpts{addr: leaseB, gw: netip.MustParseAddr("10.0.2.1"), dns: []netip.Addr{dnsB}, lease: 600}
	c, srv, h := startClient(t, func(r request) [][]byte {
		if r.ciaddr.IsValid() && !r.ciaddr.IsUnspecified() {
			renewed.Store(true)
			return [][]byte{replyTo(r, layers.DHCPMsgTypeAck, second)}
		}
		return answer(first)(r)
	})
	l := h.awaitLease(t)
	r := srv.await(t, "renewal", func(r request) bool { return r.ciaddr == leaseA.Addr() })
	if r.typ != layers.DHCPMsgTypeRequest || r.dst != netip.AddrPortFrom(serverAddr, ServerPort) || r.broadcast ||
		r.requested.IsValid() || r.server.IsValid() {
		t.Errorf("renewal: %v to %v broadcast %v option 50 %v option 54 %v; want REQUEST unicast to the server, no flag, neither option",
			r.typ, r.dst, r.broadcast, r.requested, r.server)
	}
	if early := r.at.Sub(l.Start); early < time.Second {
		t.Errorf("renewal %v after the lease began, before T1 (1 s)", early)
	}
	nl := h.awaitLease(t)
	if nl.Addr != leaseB || nl.Gateway != second.gw || nl.DNS[0] != dnsB || nl.Duration != 10*time.Minute {
		t.Errorf("renewed lease %+v, want the ACK's", nl)
	}
	h.mu.Lock()
	if h.current.Addr != leaseB {
		t.Errorf("host has %v", h.current.Addr)
	}
	h.mu.Unlock()
	wantStats(t, c, func(s Stats) bool {
		return s.Renewals == 1 &&
			s.RenewFailures == 0 &&
			s.Leases == 1 &&
			s.State == "bound"
	})
}

// TestRebinding: a server that does not answer the renewal leaves the
// client rebinding at T2, broadcasting; any server's ACK keeps the lease.
func TestRebinding(t *testing.T) {
	t.Parallel()
	lo := leaseOpts{addr: leaseA, gw: serverAddr, lease: 4, t1: 1, t2: 2}
	c, srv, h := startClient(t, func(r request) [][]byte {
		if r.ciaddr.IsValid() && !r.ciaddr.IsUnspecified() && r.dst != limitedBroadcast {
			return nil // the server of the lease is gone
		}
		if r.ciaddr.IsValid() && !r.ciaddr.IsUnspecified() {
			other := lo
			other.serverID, other.lease = netip.MustParseAddr("10.0.2.9"), 3600
			return [][]byte{replyTo(r, layers.DHCPMsgTypeAck, other)}
		}
		return answer(lo)(r)
	})
	l := h.awaitLease(t)
	rb := srv.await(t, "rebinding REQUEST", func(r request) bool { return r.ciaddr == leaseA.Addr() && r.dst == limitedBroadcast })
	if rb.typ != layers.DHCPMsgTypeRequest || rb.broadcast || rb.server.IsValid() {
		t.Errorf("rebinding: %v flag %v option 54 %v", rb.typ, rb.broadcast, rb.server)
	}
	if at := rb.at.Sub(l.Start); at < 2*time.Second {
		t.Errorf("rebinding %v after the lease began, before T2 (2 s)", at)
	}
	var unicast int
	for _, r := range srv.requests() {
		if r.ciaddr == leaseA.Addr() && r.dst.Addr() == serverAddr {
			unicast++
		}
	}
	if unicast < 2 {
		t.Errorf("%d renewal REQUESTs between T1 and T2, want retransmissions", unicast)
	}
	nl := h.awaitLease(t)
	if nl.Server != netip.MustParseAddr("10.0.2.9") || nl.Duration != time.Hour {
		t.Errorf("rebound lease %+v, want the other server's", nl)
	}
	wantStats(t, c, func(s Stats) bool {
		return s.RenewFailures == 1 &&
			s.Rebinds == 1 &&
			s.Renewals == 0 &&
			s.Expiries == 0
	})
}

// TestExpiry: with no answer at all after the first lease, the address is
// removed when the lease ends and discovery starts again.
func TestExpiry(t *testing.T) {
	t.Parallel()
	var answered atomic.Bool
	lo := leaseOpts{addr: leaseA, gw: serverAddr, lease: 3, t1: 1, t2: 2}
	c, srv, h := startClient(t, func(r request) [][]byte {
		if r.typ == layers.DHCPMsgTypeRequest && answered.Swap(true) {
			return nil
		}
		if r.typ == layers.DHCPMsgTypeDiscover && answered.Load() {
			return nil
		}
		return answer(lo)(r)
	})
	l := h.awaitLease(t)
	gone := h.awaitRemove(t)
	at := time.Now()
	if gone.Addr != leaseA {
		t.Errorf("removed %v", gone.Addr)
	}
	if early := at.Sub(l.Start); early < 3*time.Second {
		t.Errorf("address removed %v after the lease began, before its end (3 s)", early)
	}
	srv.await(t, "DISCOVER after expiry", func(r request) bool {
		return r.typ == layers.DHCPMsgTypeDiscover && r.at.After(at.Add(-time.Millisecond))
	})
	wantStats(t, c, func(s Stats) bool {
		return s.Expiries == 1 &&
			s.RenewFailures == 1 &&
			s.Address == "" &&
			(s.State == "selecting" || s.State == "init")
	})
	if _, state := c.Lease(); state == Bound {
		t.Error("bound after expiry")
	}
}

// TestNAKWhileRequesting: a NAK to the REQUEST sends the client back to
// DISCOVER.
func TestNAKWhileRequesting(t *testing.T) {
	t.Parallel()
	var naked atomic.Bool
	lo := leaseOpts{addr: leaseA, gw: serverAddr, lease: 3600}
	c, _, h := startClient(t, func(r request) [][]byte {
		if r.typ == layers.DHCPMsgTypeRequest && !naked.Swap(true) {
			return [][]byte{replyTo(r, layers.DHCPMsgTypeNak, leaseOpts{extraOpts: []layers.DHCPOption{
				layers.NewDHCPOption(layers.DHCPOptMessage, []byte("address in use"))}})}
		}
		return answer(lo)(r)
	})
	h.awaitLease(t)
	wantStats(t, c, func(s Stats) bool {
		return s.Naks == 1 &&
			s.Discovers == 2 &&
			s.Requests == 2 &&
			s.Leases == 1
	})
}

// TestNAKOnRenewal: a NAK to a renewal removes the address and restarts
// discovery, which may well give another address.
func TestNAKOnRenewal(t *testing.T) {
	t.Parallel()
	first := leaseOpts{addr: leaseA, gw: serverAddr, lease: 60, t1: 1, t2: 50}
	moved := leaseOpts{addr: leaseB, gw: serverAddr, lease: 3600}
	var nak atomic.Bool
	c, _, h := startClient(t, func(r request) [][]byte {
		switch {
		case r.ciaddr.IsValid() && !r.ciaddr.IsUnspecified():
			nak.Store(true)
			return [][]byte{replyTo(r, layers.DHCPMsgTypeNak, leaseOpts{})}
		case nak.Load():
			return answer(moved)(r)
		}
		return answer(first)(r)
	})
	if l := h.awaitLease(t); l.Addr != leaseA {
		t.Fatalf("first lease %v", l.Addr)
	}
	if l := h.awaitRemove(t); l.Addr != leaseA {
		t.Errorf("removed %v", l.Addr)
	}
	if l := h.awaitLease(t); l.Addr != leaseB {
		t.Errorf("after the NAK: lease %v, want %v", l.Addr, leaseB)
	}
	h.mu.Lock()
	events := strings.Join(h.events, ", ")
	h.mu.Unlock()
	if want := "apply 10.0.2.15/24, remove 10.0.2.15/24, apply 10.0.2.31/24"; events != want {
		t.Errorf("host saw %s, want %s", events, want)
	}
	wantStats(t, c, func(s Stats) bool {
		return s.Naks == 1 &&
			s.Leases == 2 &&
			s.Renewals == 0
	})
}

// TestMalformedReplies: replies no client can use are counted and dropped,
// replies for someone else ignored, and the client still takes the good
// OFFER that follows them.
func TestMalformedReplies(t *testing.T) {
	t.Parallel()
	lo := leaseOpts{addr: leaseA, gw: serverAddr, lease: 3600}
	var bad, other int
	c, srv, h := startClient(t, func(r request) [][]byte {
		if r.typ != layers.DHCPMsgTypeDiscover {
			return answer(lo)(r)
		}
		good := replyTo(r, layers.DHCPMsgTypeOffer, lo)
		mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
		withLease := func(f func(*leaseOpts)) []byte {
			l := lo
			f(&l)
			return replyTo(r, layers.DHCPMsgTypeOffer, l)
		}
		malformed := [][]byte{
			nil,
			good[:100], // truncated header
			mutate(func(b []byte) []byte { b[236] = 0; return b }),          // magic cookie
			mutate(func(b []byte) []byte { b[0] = 1; return b }),            // a BOOTREQUEST
			mutate(func(b []byte) []byte { b[2] = 17; return b }),           // hardware length
			mutate(func(b []byte) []byte { return append(b[:240], 53, 5) }), // option past the end
			withLease(func(l *leaseOpts) { l.noServer = true }),
			withLease(func(l *leaseOpts) { l.addr = netip.MustParsePrefix("0.0.0.0/24") }),
			withLease(func(l *leaseOpts) { l.addr = netip.MustParsePrefix("10.0.2.255/24") }),
			withLease(func(l *leaseOpts) { l.lease = 0 }),
			withLease(func(l *leaseOpts) {
				l.extraOpts = []layers.DHCPOption{layers.NewDHCPOption(layers.DHCPOptRouter, []byte{10, 0, 2})}
			}),
			withLease(func(l *leaseOpts) { l.mask = []byte{255, 0, 255, 0} }),
			withLease(func(l *leaseOpts) { l.mask = []byte{255, 255, 255} }),
		}
		// BOOTP: the message type (the first option) made a private one.
		malformed = append(malformed, mutate(func(b []byte) []byte { b[240] = 224; return b }))
		// Usable messages not for this client or not now, each for
		// another address, so that taking one would show in the lease.
		decoy := func(typ layers.DHCPMsgType, i int) []byte {
			b := replyTo(r, typ, leaseOpts{addr: leaseB, gw: serverAddr, lease: 3600})
			b[i] ^= 0xff
			return b
		}
		otherXID := decoy(layers.DHCPMsgTypeOffer, 4)
		otherMAC := decoy(layers.DHCPMsgTypeOffer, 33)
		ack := decoy(layers.DHCPMsgTypeAck, 8) // not awaited in SELECTING (byte 8: secs)
		bad, other = len(malformed), 3
		return append(malformed, otherXID, otherMAC, ack, good)
	})
	if l := h.awaitLease(t); l.Addr != leaseA {
		t.Fatalf("lease %v, want %v: a decoy was taken", l.Addr, leaseA)
	}
	if r := srv.requests()[1]; r.typ != layers.DHCPMsgTypeRequest || r.requested != leaseA.Addr() || r.msg.Xid != srv.requests()[0].msg.Xid {
		t.Errorf("REQUEST for %v xid %x: want %v and the DISCOVER's xid", r.requested, r.msg.Xid, leaseA.Addr())
	}
	s := wantStats(t, c, func(s Stats) bool { return s.Offers == 1 })
	if s.Malformed != uint64(bad) || s.Ignored != uint64(other) || s.Offers != 1 || s.Discovers != 1 {
		t.Errorf("stats %+v, want %d malformed, %d ignored, the one good OFFER taken", s, bad, other)
	}
	if s.LastMalformed == "" {
		t.Error("no reason given for the malformed replies")
	}
}

// TestRetransmission: without a server, DISCOVERs are sent again with
// waits that double up to the maximum; an OFFER whose REQUEST is never
// answered sends the client back to DISCOVER after RequestSends REQUESTs.
func TestRetransmission(t *testing.T) {
	t.Parallel()
	var offering atomic.Bool
	lo := leaseOpts{addr: leaseA, gw: serverAddr, lease: 3600}
	c, srv, _ := startClient(t, func(r request) [][]byte {
		if r.typ == layers.DHCPMsgTypeDiscover && offering.Load() {
			return [][]byte{replyTo(r, layers.DHCPMsgTypeOffer, lo)}
		}
		return nil
	})
	// Waits of 50, 100, 200, 400, 400 ms, each within the jitter; a
	// loaded machine can only make them longer.
	var at []time.Time
	for range 6 {
		at = append(at, srv.await(t, "DISCOVER", isType(layers.DHCPMsgTypeDiscover)).at)
	}
	var xid uint32
	for i, r := range srv.requests()[:6] {
		if i == 0 {
			xid = r.msg.Xid
		} else if r.msg.Xid != xid {
			t.Errorf("retransmission %d has xid %x, want %x", i, r.msg.Xid, xid)
		}
	}
	for i, want := range []time.Duration{50, 100, 200, 400, 400} {
		want *= time.Millisecond
		if gap := at[i+1].Sub(at[i]); gap < want-fastTiming.Jitter {
			t.Errorf("wait %d: %v, want at least %v", i+1, gap, want-fastTiming.Jitter)
		}
	}
	offering.Store(true)
	var requests int
	for {
		r := <-srv.seen
		if r.typ == layers.DHCPMsgTypeRequest {
			requests++
		} else if requests > 0 {
			break
		}
	}
	if requests != 4 {
		t.Errorf("%d REQUESTs before discovering again, want RequestSends (4)", requests)
	}
	wantStats(t, c, func(s Stats) bool {
		return s.Retransmits != 0 &&
			s.Leases == 0
	})
}

// TestWaitLeaseTimeout: WaitLease gives up with its context.
func TestWaitLeaseTimeout(t *testing.T) {
	t.Parallel()
	c, _, _ := startClient(t, func(request) [][]byte { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.WaitLease(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitLease: %v", err)
	}
	wantStats(t, c, func(s Stats) bool {
		return s.Discovers >= 2 &&
			s.State == "selecting"
	})
}

// TestInfiniteLease: a lease that never ends is never renewed.
func TestInfiniteLease(t *testing.T) {
	t.Parallel()
	c, srv, h := startClient(t, answer(leaseOpts{addr: leaseA, lease: infiniteLeaseTime}))
	l := h.awaitLease(t)
	if l.Duration != Infinite || !l.Expiry().IsZero() {
		t.Errorf("lease %+v", l)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(srv.requests()); n != 2 {
		t.Errorf("%d messages, want DISCOVER and REQUEST only", n)
	}
	wantStats(t, c, func(s Stats) bool {
		return s.LeaseSeconds == infiniteLeaseTime &&
			s.State == "bound"
	})
}
