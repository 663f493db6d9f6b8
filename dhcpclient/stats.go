package dhcpclient

import (
	"math"
	"sync/atomic"
	"time"
)

// counters are the client's running counts.
type counters struct {
	discovers, requests, retransmits                   atomic.Uint64
	offers, acks, naks, malformed, ignored             atomic.Uint64
	leases, renewals, rebinds, renewFailures, expiries atomic.Uint64
	sendErrors, applyErrors                            atomic.Uint64
	reboots, rebootsConfirmed, rebootsRefused          atomic.Uint64
	rebootsUnanswered                                  atomic.Uint64
	badNames                                           atomic.Uint64
	lastMalformed, lastBadName                         atomic.Value // string
}

// Stats is a snapshot of the client: its state, its lease and its
// counters. Every message received ends in exactly one of Offers, Acks,
// Naks, Malformed or Ignored.
type Stats struct {
	// State is the RFC 2131 state ("bound", "renewing", ...).
	State string `json:"state" metric:"info=state"`
	// Address, Gateway, DNS and Server are the lease's ("" and none
	// without one).
	Address string   `json:"address"`
	Gateway string   `json:"gateway"`
	DNS     []string `json:"dns"`
	Server  string   `json:"server"`
	// Domain and Search are the lease's domain name (option 15) and
	// search list (option 119).
	Domain string   `json:"domain"`
	Search []string `json:"search"`
	// LeaseSeconds is the lease's time and LeaseRemainingSeconds what is
	// left of it (0 without a lease; 4294967295, the protocol's
	// "infinity", for both if it never ends).
	LeaseSeconds          float64 `json:"lease_seconds"`
	LeaseRemainingSeconds float64 `json:"lease_remaining_seconds"`

	// Discovers and Requests count the messages sent, Retransmits
	// included; SendErrors the sends the connection refused (counted
	// as lost).
	Discovers   uint64 `json:"discovers"`
	Requests    uint64 `json:"requests"`
	Retransmits uint64 `json:"retransmits"`
	SendErrors  uint64 `json:"send_errors"`
	// Offers, Acks and Naks count the replies taken; Malformed those
	// that did not parse or could not be used (LastMalformed says why
	// for the latest); Ignored the well-formed ones for another
	// transaction, another client or of a type not awaited.
	Offers        uint64 `json:"offers"`
	Acks          uint64 `json:"acks"`
	Naks          uint64 `json:"naks"`
	Malformed     uint64 `json:"malformed"`
	LastMalformed string `json:"last_malformed"`
	Ignored       uint64 `json:"ignored"`
	// BadNames counts the OFFERs and ACKs whose Domain Name or Domain
	// Search option was malformed (LastBadName says why for the
	// latest): they count as usual, their lease taken without domain
	// and search list.
	BadNames    uint64 `json:"bad_names"`
	LastBadName string `json:"last_bad_name"`
	// Leases counts leases gained from INIT; Renewals and Rebinds the
	// leases extended in RENEWING and REBINDING; RenewFailures the
	// renewals that got no answer by T2; Expiries the leases that ended
	// unrenewed; ApplyErrors the leases the host failed to configure.
	Leases        uint64 `json:"leases"`
	Renewals      uint64 `json:"renewals"`
	Rebinds       uint64 `json:"rebinds"`
	RenewFailures uint64 `json:"renew_failures"`
	Expiries      uint64 `json:"expiries"`
	ApplyErrors   uint64 `json:"apply_errors"`
	// Reboots counts the leases verified after the link came back
	// (INIT-REBOOT); each ends in RebootsConfirmed (ACK, lease renewed),
	// RebootsRefused (NAK, address removed) or RebootsUnanswered (lease
	// kept as it was), unless the link flaps again first.
	Reboots           uint64 `json:"reboots"`
	RebootsConfirmed  uint64 `json:"reboots_confirmed"`
	RebootsRefused    uint64 `json:"reboots_refused"`
	RebootsUnanswered uint64 `json:"reboots_unanswered"`
}

// Stats takes a snapshot.
func (c *Client) Stats() Stats {
	l, state := c.Lease()
	s := Stats{
		State:         state.String(),
		Discovers:     c.c.discovers.Load(),
		Requests:      c.c.requests.Load(),
		Retransmits:   c.c.retransmits.Load(),
		SendErrors:    c.c.sendErrors.Load(),
		Offers:        c.c.offers.Load(),
		Acks:          c.c.acks.Load(),
		Naks:          c.c.naks.Load(),
		Malformed:     c.c.malformed.Load(),
		Ignored:       c.c.ignored.Load(),
		BadNames:      c.c.badNames.Load(),
		Leases:        c.c.leases.Load(),
		Renewals:      c.c.renewals.Load(),
		Rebinds:       c.c.rebinds.Load(),
		RenewFailures: c.c.renewFailures.Load(),
		Expiries:      c.c.expiries.Load(),
		ApplyErrors:   c.c.applyErrors.Load(),

		Reboots:           c.c.reboots.Load(),
		RebootsConfirmed:  c.c.rebootsConfirmed.Load(),
		RebootsRefused:    c.c.rebootsRefused.Load(),
		RebootsUnanswered: c.c.rebootsUnanswered.Load(),
	}
	if why, ok := c.c.lastMalformed.Load().(string); ok {
		s.LastMalformed = why
	}
	if why, ok := c.c.lastBadName.Load().(string); ok {
		s.LastBadName = why
	}
	if !l.Valid() {
		return s
	}
	s.Address, s.Server = l.Addr.String(), l.Server.String()
	if l.Gateway.IsValid() {
		s.Gateway = l.Gateway.String()
	}
	for _, a := range l.DNS {
		s.DNS = append(s.DNS, a.String())
	}
	s.Domain, s.Search = l.Domain, l.Search
	if l.Duration == Infinite {
		s.LeaseSeconds, s.LeaseRemainingSeconds = math.MaxUint32, math.MaxUint32
	} else {
		s.LeaseSeconds = l.Duration.Seconds()
		s.LeaseRemainingSeconds = max(time.Until(l.Expiry()).Seconds(), 0)
	}
	return s
}
