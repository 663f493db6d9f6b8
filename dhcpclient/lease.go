package dhcpclient

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Lease is the IPv4 configuration a DHCP server granted.
type Lease struct {
	// Addr is the leased address with its subnet's prefix length (the
	// Subnet Mask option, else the address's class).
	Addr netip.Prefix
	// Gateway is the first usable router of the Router option; invalid
	// if there was none. It may lie outside Addr's subnet (a /32 lease
	// with an on-link router, as some clouds hand out).
	Gateway netip.Addr
	// DNS are the name servers, in the server's order.
	DNS []netip.Addr
	// Domain is the Domain Name option's name ("" without one) and
	// Search the Domain Search option's list (RFC 3397), in order;
	// both without the final dot.
	Domain string
	Search []string
	// Server is the DHCP server's identifier, where renewals go.
	Server netip.Addr
	// Duration is the lease time, T1 and T2 when renewing and rebinding
	// begin, all counted from Start; Infinite for a lease that never
	// ends.
	Duration, T1, T2 time.Duration
	// Start is when the client sent the first REQUEST of the exchange
	// that got the lease: no later than the server's own start, so the
	// client's view of the lease never outlasts the server's (RFC 2131
	// section 4.4.1).
	Start time.Time
}

// Valid reports whether l holds a lease.
func (l Lease) Valid() bool { return l.Addr.IsValid() }

// at is the time d after Start, or the zero Time for an Infinite d.
func (l Lease) at(d time.Duration) time.Time {
	if d == Infinite {
		return time.Time{}
	}
	return l.Start.Add(d)
}

// Expiry is when the lease ends; the zero Time if it never does.
func (l Lease) Expiry() time.Time { return l.at(l.Duration) }

// String is one line for the console: "10.0.2.15/24 from 10.0.2.2 for
// 24h0m0s (gateway 10.0.2.2, dns 10.0.2.3)".
func (l Lease) String() string {
	if !l.Valid() {
		return "no lease"
	}
	d := "ever"
	if l.Duration != Infinite {
		d = l.Duration.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v from %v for %s (gateway ", l.Addr, l.Server, d)
	if l.Gateway.IsValid() {
		fmt.Fprint(&b, l.Gateway)
	} else {
		b.WriteString("none")
	}
	b.WriteString(", dns ")
	if len(l.DNS) == 0 {
		b.WriteString("none")
	}
	for i, a := range l.DNS {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, a)
	}
	if l.Domain != "" {
		fmt.Fprintf(&b, ", domain %s", l.Domain)
	}
	if len(l.Search) > 0 {
		fmt.Fprintf(&b, ", search %s", strings.Join(l.Search, ","))
	}
	b.WriteByte(')')
	return b.String()
}
