package dhcpclient

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// isReboot matches an INIT-REBOOT REQUEST: a requested address, no server
// identifier.
func isReboot(r request) bool {
	return r.typ == layers.DHCPMsgTypeRequest && r.requested.IsValid() && !r.server.IsValid()
}

// flapLink takes the client's carrier away and gives it back.
func flapLink(c *Client) {
	c.LinkChanged(false)
	c.LinkChanged(true)
}

// TestLinkFlapVerifiesLease: carrier back after a loss makes a bound
// client ask about its lease at once with an INIT-REBOOT REQUEST (RFC 2131
// table 5: broadcast, ciaddr 0, the address in option 50, no option 54),
// and the ACK renews it in place.
func TestLinkFlapVerifiesLease(t *testing.T) {
	t.Parallel()
	first := leaseOpts{addr: leaseA, gw: serverAddr, lease: 3600}
	again := leaseOpts{addr: leaseA, gw: serverAddr, lease: 7200}
	c, srv, h := startClient(t, func(r request) [][]byte {
		if isReboot(r) {
			return [][]byte{replyTo(r, layers.DHCPMsgTypeAck, again)}
		}
		return answer(first)(r)
	})
	l := h.awaitLease(t)
	// Carrier coming up without having gone is no flap.
	c.LinkChanged(true)
	flapLink(c)
	r := srv.await(t, "INIT-REBOOT REQUEST", isReboot)
	if r.dst != limitedBroadcast || r.requested != leaseA.Addr() || r.ciaddr.IsValid() && !r.ciaddr.IsUnspecified() {
		t.Errorf("INIT-REBOOT REQUEST to %v, option 50 %v, ciaddr %v; want 255.255.255.255:67, %v, 0.0.0.0",
			r.dst, r.requested, r.ciaddr, leaseA.Addr())
	}
	if r.at.Sub(l.Start) > 30*time.Minute {
		t.Errorf("verified %v after the lease began", r.at.Sub(l.Start))
	}
	nl := h.awaitLease(t)
	if nl.Addr != leaseA || nl.Duration != 2*time.Hour || !nl.Start.After(l.Start) {
		t.Errorf("after the ACK: %+v, want %v for 2h from the REQUEST", nl, leaseA)
	}
	s := wantStats(t, c, func(s Stats) bool {
		return s.Reboots == 1 &&
			s.RebootsConfirmed == 1 &&
			s.State == "bound" &&
			s.LeaseSeconds == 7200
	})
	if s.Leases != 1 || s.Discovers != 1 || s.RebootsRefused+s.RebootsUnanswered != 0 {
		t.Errorf("stats %+v: want the one lease kept, no new discovery", s)
	}
	h.mu.Lock()
	events := strings.Join(h.events, ", ")
	h.mu.Unlock()
	if want := "apply 10.0.2.15/24, apply 10.0.2.15/24"; events != want {
		t.Errorf("host saw %s, want %s", events, want)
	}
}

// TestLinkFlapNAK: a server that refuses the address after the flap (the
// host was moved to another network) makes the client drop it and
// discover the new one.
func TestLinkFlapNAK(t *testing.T) {
	t.Parallel()
	first := leaseOpts{addr: leaseA, gw: serverAddr, lease: 3600}
	moved := leaseOpts{addr: leaseB, gw: serverAddr, lease: 3600}
	var flapped atomic.Bool
	c, srv, h := startClient(t, func(r request) [][]byte {
		switch {
		case isReboot(r):
			return [][]byte{replyTo(r, layers.DHCPMsgTypeNak, leaseOpts{})}
		case flapped.Load():
			return answer(moved)(r)
		}
		return answer(first)(r)
	})
	if l := h.awaitLease(t); l.Addr != leaseA {
		t.Fatalf("first lease %v", l.Addr)
	}
	flapped.Store(true)
	flapLink(c)
	srv.await(t, "INIT-REBOOT REQUEST", isReboot)
	if l := h.awaitRemove(t); l.Addr != leaseA {
		t.Errorf("removed %v, want %v", l.Addr, leaseA)
	}
	if l := h.awaitLease(t); l.Addr != leaseB {
		t.Errorf("after the NAK: lease %v, want %v", l.Addr, leaseB)
	}
	wantStats(t, c, func(s Stats) bool {
		return s.Reboots == 1 &&
			s.RebootsRefused == 1 &&
			s.Naks == 1 &&
			s.Leases == 2 &&
			s.Discovers == 2 &&
			s.Address == leaseB.String()
	})
}

// TestLinkFlapNoAnswer: without an answer to the INIT-REBOOT REQUESTs the
// client keeps its lease (RFC 2131 section 3.2) and stays bound.
func TestLinkFlapNoAnswer(t *testing.T) {
	t.Parallel()
	lo := leaseOpts{addr: leaseA, gw: serverAddr, lease: 3600}
	c, srv, h := startClient(t, func(r request) [][]byte {
		if isReboot(r) {
			return nil
		}
		return answer(lo)(r)
	})
	h.awaitLease(t)
	flapLink(c)
	for range fastTiming.RequestSends + 4 { // the default, 4
		srv.await(t, "INIT-REBOOT REQUEST", isReboot)
		if c.Stats().RebootsUnanswered == 1 {
			break
		}
	}
	s := wantStats(t, c, func(s Stats) bool {
		return s.Reboots == 1 &&
			s.RebootsUnanswered == 1 &&
			s.State == "bound" &&
			s.Address == leaseA.String()
	})
	if s.Requests != 1+4 || s.Expiries != 0 {
		t.Errorf("stats %+v: want the REQUEST of the lease and 4 unanswered ones, lease kept", s)
	}
	select {
	case l := <-h.removed:
		t.Errorf("lease %v removed", l.Addr)
	default:
	}
}

// TestLinkFlapWhileSelecting: carrier back while discovering starts a new
// DISCOVER at once instead of after the backoff.
func TestLinkFlapWhileSelecting(t *testing.T) {
	t.Parallel()
	c, srv, _ := startClient(t, func(request) [][]byte { return nil })
	var last request
	for range 6 { // waits grow to MaxRetransmit
		last = srv.await(t, "DISCOVER", isType(layers.DHCPMsgTypeDiscover))
	}
	flapLink(c)
	r := srv.await(t, "DISCOVER after the flap", isType(layers.DHCPMsgTypeDiscover))
	if r.msg.Xid == last.msg.Xid {
		t.Errorf("DISCOVER after the flap keeps xid %x: want a new exchange", r.msg.Xid)
	}
	if s := c.Stats(); s.Reboots != 0 {
		t.Errorf("%d reboots without a lease", s.Reboots)
	}
}
