// Package dhcpclient is a DHCPv4 client (RFC 2131) for a host with one
// Ethernet interface, over any net.PacketConn bound to UDP port 68 that can
// broadcast: it leases an address, renews it, and gives it up when the
// lease ends.
//
// Messages are encoded and decoded by the package itself (wire.go); the
// tests check them against gopacket's independent DHCPv4 layer. The
// client's state machine is RFC 2131 section 4.4's:
//
//	INIT --DISCOVER--> SELECTING --OFFER, REQUEST--> REQUESTING --ACK--> BOUND
//	REQUESTING --NAK or no answer--> INIT
//	BOUND --T1--> RENEWING (REQUEST unicast to the server)
//	RENEWING --ACK--> BOUND, --NAK--> INIT, --T2--> REBINDING (REQUEST broadcast)
//	REBINDING --ACK--> BOUND, --NAK or lease end--> INIT
//	BOUND, RENEWING, REBINDING --carrier lost and back--> INIT-REBOOT
//	INIT-REBOOT --REQUEST broadcast--> REBOOTING
//	REBOOTING --ACK--> BOUND, --NAK--> INIT, --no answer--> BOUND (same lease)
//
// Leaving a lease (NAK, expiry) removes its address before discovery starts
// again. DISCOVER and REQUEST are retransmitted with exponential backoff and
// jitter (section 4.1), renewals and rebinds at half the time left (section
// 4.4.5); each exchange has a fresh transaction ID from crypto/rand.
//
// A lease held when the link comes back (LinkChanged) is verified at once
// with INIT-REBOOT (sections 3.2 and 4.4.2), since the host may now be on
// another network: a NAK gives it up, an ACK renews it, and without an
// answer it is kept until it would have been renewed anyway (section 3.2
// lets the client use it until it expires).
//
// Not implemented: INIT-REBOOT at boot (there is no storage to remember a
// lease across boots), checking the offered address with ARP and DECLINE, RELEASE
// (a unikernel stops by power-off), FORCERENEW, and replies unicast to an
// unconfigured address (the client sets the broadcast flag until it has
// one).
package dhcpclient

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// State is a state of RFC 2131's client state machine (figure 5).
type State int32

// The states the client goes through (INIT-REBOOT and REBOOTING only when
// the link comes back: nothing remembers a lease across boots).
const (
	Init State = iota
	Selecting
	Requesting
	Bound
	Renewing
	Rebinding
	InitReboot
	Rebooting
)

var stateNames = [...]string{"init", "selecting", "requesting", "bound", "renewing", "rebinding", "init-reboot", "rebooting"}

// String is the state's name in RFC 2131, in lower case.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Timing is the client's waits. Zero fields take the defaults.
type Timing struct {
	// Retransmit is the wait before the first retransmission of a
	// DISCOVER or of a REQUEST in REQUESTING (default 2 s: RFC 2131
	// section 4.1 suggests 4 s, but a booting unikernel waits on it),
	// doubled after each one up to MaxRetransmit (default 64 s).
	Retransmit, MaxRetransmit time.Duration
	// Jitter moves each of those waits by a random amount in
	// [-Jitter, +Jitter] (default 1 s, as section 4.1), at most half the
	// wait.
	Jitter time.Duration
	// RequestSends is how often a REQUEST is sent in REQUESTING before
	// discovery starts over (default 4).
	RequestSends int
	// MinRenewRetry is the shortest wait between REQUESTs in RENEWING and
	// REBINDING, which otherwise wait half the time left until T2 or the
	// lease's end (default 60 s, section 4.4.5).
	MinRenewRetry time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.Retransmit, 2*time.Second)
	def(&t.MaxRetransmit, 64*time.Second)
	def(&t.Jitter, time.Second)
	def(&t.MinRenewRetry, 60*time.Second)
	if t.RequestSends <= 0 {
		t.RequestSends = 4
	}
	return t
}

// Config is what the client needs from the host.
type Config struct {
	// MAC is the interface's Ethernet address (chaddr and the client
	// identifier).
	MAC [6]byte
	// Hostname, if set, is sent as the Host Name option.
	Hostname string
	// Apply configures the interface with l, replacing prev (invalid if
	// there was no lease): address, subnet route, default route. Called
	// for every lease granted, renewals included, from Run's goroutine.
	// An error makes the client give the lease up and start over.
	Apply func(prev, l Lease) error
	// Remove takes l's address away (the lease ended or a server
	// refused it), leaving the interface able to broadcast from 0.0.0.0.
	Remove func(l Lease)
	// Log, if set, hears a line for each lease event (granted, renewed,
	// refused, ended).
	Log func(string)
	// Timing overrides the waits, e.g. for tests.
	Timing Timing
}

// Client is a DHCPv4 client on one connection.
type Client struct {
	cfg  Config
	t    Timing
	conn net.PacketConn

	// replies carries parsed server messages from the reader goroutine
	// to Run's; it is closed when reading fails (readErr says why).
	replies chan reply
	readErr error
	stop    chan struct{}

	// linkLost is set when carrier goes; rejoined is poked when it comes
	// back after that (LinkChanged).
	linkLost atomic.Bool
	rejoined chan struct{}

	c counters

	mu    sync.Mutex
	state State
	lease Lease

	bound     chan struct{} // closed at the first lease
	boundOnce sync.Once
	done      chan struct{} // closed when Run returns, after runErr is set
	runErr    error
}

// New makes a client that talks over conn, a UDP socket on the client port
// (68) of the interface, allowed to broadcast. Run starts it.
func New(conn net.PacketConn, cfg Config) *Client {
	return &Client{
		cfg:      cfg,
		t:        cfg.Timing.withDefaults(),
		conn:     conn,
		replies:  make(chan reply, 16),
		stop:     make(chan struct{}),
		rejoined: make(chan struct{}, 1),
		bound:    make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// Run leases an address and keeps it leased until ctx ends or the
// connection fails, and returns why. It closes the connection; the
// address of a lease it still holds stays configured.
func (c *Client) Run(ctx context.Context) error {
	go c.read()
	err := c.run(ctx)
	close(c.stop)
	c.conn.Close()
	c.runErr = err
	close(c.done)
	return err
}

// LinkChanged tells the client that the interface's carrier went (up
// false) or came (up true). Carrier back after a loss makes a client that
// holds a lease verify it (INIT-REBOOT), and one without start discovery
// afresh instead of waiting out its backoff. It does not block.
func (c *Client) LinkChanged(up bool) {
	if !up {
		c.linkLost.Store(true)
		return
	}
	if c.linkLost.Swap(false) {
		select {
		case c.rejoined <- struct{}{}:
		default: // one pending is enough
		}
	}
}

// WaitLease waits for the first lease. It returns the lease held now, or
// why there is none: ctx ended, or Run returned.
func (c *Client) WaitLease(ctx context.Context) (Lease, error) {
	select {
	case <-c.bound:
		l, _ := c.Lease()
		return l, nil
	case <-c.done:
		return Lease{}, fmt.Errorf("dhcpclient: stopped: %w", c.runErr)
	case <-ctx.Done():
		return Lease{}, ctx.Err()
	}
}

// Lease returns the lease held now and the client's state.
func (c *Client) Lease() (Lease, State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lease, c.state
}

func (c *Client) run(ctx context.Context) error {
	for {
		l, err := c.acquire(ctx)
		if err != nil {
			return err
		}
		if err := c.keep(ctx, l); err != nil {
			return err
		}
	}
}

// acquire runs INIT, SELECTING and REQUESTING until a lease is applied.
func (c *Client) acquire(ctx context.Context) (Lease, error) {
	for {
		c.setState(Init)
		began := time.Now()
		c.setState(Selecting)
		offer, _, err := c.exchange(ctx, transaction{
			msg:    outgoing{typ: msgDiscover, xid: newXID(), broadcast: true},
			dst:    limitedBroadcast,
			began:  began,
			wait:   c.backoff,
			accept: func(r reply) bool { return r.typ == msgOffer },
		})
		switch {
		case errors.Is(err, errRejoined):
			continue // a new network, maybe: discover from scratch
		case err != nil:
			return Lease{}, err // SELECTING ends only with an OFFER
		}
		c.setState(Requesting)
		server := offer.server
		ack, sent, err := c.exchange(ctx, transaction{
			msg: outgoing{typ: msgRequest, xid: offer.xid, broadcast: true,
				requested: offer.lease.Addr.Addr(), server: server},
			dst:      limitedBroadcast,
			began:    began,
			wait:     c.backoff,
			maxSends: c.t.RequestSends,
			// Other servers see the REQUEST as a decline of their
			// OFFERs; only the chosen one's answer counts.
			accept: func(r reply) bool {
				return (r.typ == msgAck || r.typ == msgNak) &&
					(!r.server.IsValid() || r.server == server)
			},
		})
		switch {
		case errors.Is(err, errNoAnswer), errors.Is(err, errRejoined):
			c.logf("dhcp: no answer to REQUEST for %v from %v: discovering again", offer.lease.Addr.Addr(), server)
			continue
		case err != nil:
			return Lease{}, err
		case ack.typ == msgNak:
			c.logf("dhcp: %v refused %v%s: discovering again", server, offer.lease.Addr.Addr(), reason(ack))
			// Not at once: a server that refuses every time would
			// be asked in a tight loop.
			if err := c.pause(ctx); err != nil {
				return Lease{}, err
			}
			continue
		}
		l := ack.lease
		l.Start = sent
		if !l.Server.IsValid() {
			l.Server = server
		}
		if err := c.apply(Lease{}, l); err != nil {
			if err := c.pause(ctx); err != nil {
				return Lease{}, err
			}
			continue
		}
		c.c.leases.Add(1)
		c.logf("dhcp: lease %v", l)
		c.boundOnce.Do(func() { close(c.bound) })
		return l, nil
	}
}

// keep runs BOUND, RENEWING and REBINDING for lease l until it is lost
// (nil: the address is removed and discovery should start again). Carrier
// back after a loss, in any of them, verifies the lease (reboot) first.
func (c *Client) keep(ctx context.Context, l Lease) error {
	rejoined := false
	for {
		if rejoined {
			kept, err := c.reboot(ctx, &l)
			switch {
			case errors.Is(err, errRejoined):
				continue // lost and back again meanwhile: ask again
			case err != nil:
				return err
			case !kept:
				return nil
			}
			rejoined = false
		}
		c.setState(Bound)
		// An Infinite lease idles until ctx ends or the link flaps.
		err := c.idle(ctx, l.at(l.T1))
		if rejoined = errors.Is(err, errRejoined); rejoined {
			continue
		}
		if err != nil {
			return err
		}
		began := time.Now()
		step, err := stepOf(c.extend(ctx, &l, Renewing, netip.AddrPortFrom(l.Server, ServerPort), l.at(l.T2), began))
		if step == noAnswer {
			c.c.renewFailures.Add(1)
			c.logf("dhcp: no answer from %v to renew %v by T2: rebinding", l.Server, l.Addr)
			step, err = stepOf(c.extend(ctx, &l, Rebinding, limitedBroadcast, l.Expiry(), began))
		}
		switch step {
		case extended:
		case linkBack:
			rejoined = true
		case noAnswer:
			c.c.expiries.Add(1)
			c.remove(l)
			c.logf("dhcp: lease of %v ended without renewal: address removed, discovering again", l.Addr)
			return nil
		default:
			return err
		}
	}
}

// extendStep is what keep does after asking to extend its lease.
type extendStep int

const (
	extended extendStep = iota // ACK: back to BOUND
	linkBack                   // the link flapped meanwhile: verify the lease
	noAnswer                   // nothing by the deadline: the next state
	lost                       // NAK (nil error) or a failure: end
)

func stepOf(kept bool, err error) (extendStep, error) {
	switch {
	case errors.Is(err, errRejoined):
		return linkBack, nil
	case errors.Is(err, errNoAnswer):
		return noAnswer, nil
	case err == nil && kept:
		return extended, nil
	}
	return lost, err
}

// extend asks to extend lease *l in state (RENEWING: dst is its server;
// REBINDING: any server, broadcast) until the time until. On an ACK it
// applies the new lease to *l and reports true; on a NAK it removes the
// lease and reports false; no answer by until is errNoAnswer.
func (c *Client) extend(ctx context.Context, l *Lease, state State, dst netip.AddrPort, until, began time.Time) (bool, error) {
	c.setState(state)
	r, sent, err := c.exchange(ctx, transaction{
		msg:      outgoing{typ: msgRequest, xid: newXID(), ciaddr: l.Addr.Addr()},
		dst:      dst,
		began:    began,
		wait:     c.halfUntil(until),
		deadline: until,
		accept:   ackOrNak,
	})
	if err != nil {
		return false, err
	}
	verb, n := "renewed", &c.c.renewals
	if state == Rebinding {
		verb, n = "rebound", &c.c.rebinds
	}
	return c.take(l, r, sent, verb, n), nil
}

// reboot verifies lease *l after the link came back (INIT-REBOOT, RFC 2131
// sections 3.2 and 4.4.2): a REQUEST broadcast with the address as
// Requested IP Address, no Server Identifier and ciaddr 0, retransmitted
// as in REQUESTING. An ACK applies the new lease to *l; a NAK removes the
// lease and reports false. Without an answer the lease is kept as it is
// (true), and the BOUND timers go on from where they were.
func (c *Client) reboot(ctx context.Context, l *Lease) (bool, error) {
	c.c.reboots.Add(1)
	c.setState(InitReboot)
	began := time.Now()
	c.setState(Rebooting)
	r, sent, err := c.exchange(ctx, transaction{
		msg:      outgoing{typ: msgRequest, xid: newXID(), broadcast: true, requested: l.Addr.Addr()},
		dst:      limitedBroadcast,
		began:    began,
		wait:     c.backoff,
		maxSends: c.t.RequestSends,
		deadline: l.Expiry(),
		accept:   ackOrNak,
	})
	switch {
	case errors.Is(err, errNoAnswer):
		c.c.rebootsUnanswered.Add(1)
		c.logf("dhcp: no answer verifying %v after the link came back: keeping it", l.Addr)
		return true, nil
	case err != nil:
		return false, err
	case r.typ == msgNak:
		c.c.rebootsRefused.Add(1)
	}
	return c.take(l, r, sent, "verified", &c.c.rebootsConfirmed), nil
}

// take acts on the ACK or NAK r to a REQUEST about lease *l, first sent at
// sent: an ACK's lease is applied to *l, counted in n and logged with verb
// (true); a NAK, or a lease the host fails to configure, removes *l
// (false).
func (c *Client) take(l *Lease, r reply, sent time.Time, verb string, n *atomic.Uint64) bool {
	if r.typ == msgNak {
		c.remove(*l)
		c.logf("dhcp: %v refused %v%s: address removed, discovering again", cmpAddr(r.server, l.Server), l.Addr, reason(r))
		return false
	}
	nl := r.lease
	nl.Start = sent
	if !nl.Server.IsValid() {
		nl.Server = l.Server
	}
	if err := c.apply(*l, nl); err != nil {
		c.remove(*l)
		return false
	}
	n.Add(1)
	c.logf("dhcp: %s %v", verb, nl)
	*l = nl
	return true
}

func ackOrNak(r reply) bool {
	return r.typ == msgAck || r.typ == msgNak
}

// reason formats a NAK's message option for the log.
func reason(r reply) string {
	if r.message == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", r.message)
}

func cmpAddr(a, b netip.Addr) netip.Addr {
	if a.IsValid() {
		return a
	}
	return b
}

// apply hands l to Config.Apply and records it.
func (c *Client) apply(prev, l Lease) error {
	if err := c.cfg.Apply(prev, l); err != nil {
		c.c.applyErrors.Add(1)
		c.logf("dhcp: configuring %v failed: %v", l.Addr, err)
		return err
	}
	c.mu.Lock()
	c.lease = l
	c.mu.Unlock()
	return nil
}

// remove hands l to Config.Remove and forgets it.
func (c *Client) remove(l Lease) {
	c.cfg.Remove(l)
	c.mu.Lock()
	c.lease = Lease{}
	c.mu.Unlock()
}

func (c *Client) setState(s State) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
}

func (c *Client) logf(format string, args ...any) {
	if c.cfg.Log != nil {
		c.cfg.Log(fmt.Sprintf(format, args...))
	}
}

// limitedBroadcast is where a client without a lease (and a rebinding
// one) sends.
var limitedBroadcast = netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), ServerPort)

// errNoAnswer ends a transaction that ran out of sends or time.
var errNoAnswer = errors.New("no answer")

// errRejoined ends a transaction or a wait when the link came back after
// a loss (LinkChanged): what was going on may concern another network.
var errRejoined = errors.New("link came back")

// transaction is one exchange: a message sent until a reply is accepted.
type transaction struct {
	msg outgoing
	dst netip.AddrPort
	// began is when the acquisition or renewal began (the secs field).
	began time.Time
	// wait is the time from the n-th send to the next.
	wait func(n int) time.Duration
	// maxSends bounds the sends (0: no bound); deadline the time (zero:
	// none).
	maxSends int
	deadline time.Time
	// accept picks the answer among the replies to the transaction ID.
	accept func(reply) bool
}

// exchange sends tx's message, again after each wait, until a reply with
// its transaction ID and the client's MAC is accepted. It returns the
// reply and when the message was first sent, or errNoAnswer once the sends
// or the time run out.
func (c *Client) exchange(ctx context.Context, tx transaction) (reply, time.Time, error) {
	var deadline <-chan time.Time
	if !tx.deadline.IsZero() {
		t := time.NewTimer(time.Until(tx.deadline))
		defer t.Stop()
		deadline = t.C
	}
	retry := time.NewTimer(0)
	defer retry.Stop()
	var first time.Time
	sends := 0
	for {
		select {
		case <-ctx.Done():
			return reply{}, first, ctx.Err()
		case <-deadline:
			return reply{}, first, errNoAnswer
		case <-c.rejoined:
			return reply{}, first, errRejoined
		case <-retry.C:
			if tx.maxSends > 0 && sends == tx.maxSends {
				return reply{}, first, errNoAnswer
			}
			if sends == 0 {
				first = time.Now()
			}
			c.send(tx, sends)
			sends++
			retry.Reset(tx.wait(sends))
		case r, ok := <-c.replies:
			if !ok {
				return reply{}, first, c.readErr
			}
			if sends == 0 || r.xid != tx.msg.xid || r.mac != c.cfg.MAC || !tx.accept(r) {
				c.c.ignored.Add(1)
				continue
			}
			switch r.typ {
			case msgOffer:
				c.c.offers.Add(1)
			case msgAck:
				c.c.acks.Add(1)
			case msgNak:
				c.c.naks.Add(1)
			}
			return r, first, nil
		}
	}
}

// send sends tx's message for the n-th time (from 0).
func (c *Client) send(tx transaction, n int) {
	m := tx.msg
	m.secs = uint16(min(time.Since(tx.began)/time.Second, 0xffff))
	switch m.typ {
	case msgDiscover:
		c.c.discovers.Add(1)
	case msgRequest:
		c.c.requests.Add(1)
	}
	if n > 0 {
		c.c.retransmits.Add(1)
	}
	b := encode(m, c.cfg.MAC, c.cfg.Hostname)
	if _, err := c.conn.WriteTo(b, net.UDPAddrFromAddrPort(tx.dst)); err != nil {
		// Lost like a dropped frame (e.g. the link is down): the
		// retransmission tries again.
		c.c.sendErrors.Add(1)
	}
}

// backoff is the wait after the n-th send in SELECTING and REQUESTING:
// Retransmit doubled n-1 times, at most MaxRetransmit, with jitter.
func (c *Client) backoff(n int) time.Duration {
	d := c.t.Retransmit
	for i := 1; i < n && d < c.t.MaxRetransmit; i++ {
		d *= 2
	}
	return c.jitter(min(d, c.t.MaxRetransmit))
}

// halfUntil is the wait after a send in RENEWING or REBINDING: half the
// time left until end, at least MinRenewRetry (the exchange's deadline
// cuts a wait that goes past end).
func (c *Client) halfUntil(end time.Time) func(int) time.Duration {
	return func(int) time.Duration { return max(time.Until(end)/2, c.t.MinRenewRetry) }
}

// jitter moves d by a uniform random amount in [-j, +j], j being Jitter
// or half of d, whichever is less.
func (c *Client) jitter(d time.Duration) time.Duration {
	j := min(c.t.Jitter, d/2)
	if j <= 0 {
		return d
	}
	return d - j + rand.N(2*j+1)
}

// pause waits about Retransmit before discovery starts over; the link
// coming back ends it early.
func (c *Client) pause(ctx context.Context) error {
	if err := c.idle(ctx, time.Now().Add(c.jitter(c.t.Retransmit))); !errors.Is(err, errRejoined) {
		return err
	}
	return nil
}

// idle waits until until (forever if it is zero), discarding what arrives
// meanwhile: no transaction is open. The link coming back ends it early
// with errRejoined.
func (c *Client) idle(ctx context.Context, until time.Time) error {
	var timer <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timer = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer:
			return nil
		case <-c.rejoined:
			return errRejoined
		case _, ok := <-c.replies:
			if !ok {
				return c.readErr
			}
			c.c.ignored.Add(1)
		}
	}
}

// read parses what arrives on the connection and hands it to Run's
// goroutine, counting what does not parse, until reading fails.
func (c *Client) read() {
	defer close(c.replies)
	buf := make([]byte, 1<<16)
	for {
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			c.readErr = fmt.Errorf("dhcpclient: read: %w", err)
			return
		}
		r, err := parseReply(buf[:n])
		if err != nil {
			c.c.malformed.Add(1)
			c.c.lastMalformed.Store(err.Error())
			continue
		}
		if r.nameErr != nil {
			c.c.badNames.Add(1)
			c.c.lastBadName.Store(r.nameErr.Error())
		}
		select {
		case c.replies <- r:
		case <-c.stop:
			return
		}
	}
}

// newXID is a transaction ID from crypto/rand: an off-path host cannot
// guess it to slip a forged OFFER or ACK in.
func newXID() uint32 {
	var b [4]byte
	crand.Read(b[:]) // never fails (crypto/rand: "Read ... never returns an error")
	return binary.BigEndian.Uint32(b[:])
}
