package netstack

import (
	"maps"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// ndpDispatcher applies what IPv6 neighbour discovery learns from router
// advertisements: gVisor configures SLAAC addresses itself but leaves
// routes to its integrator. Default routers and on-link prefixes become
// routes; SLAAC addresses open the driver's multicast filter to their
// solicited-node group (closed again when they go) and are reported
// through Config.OnAddress.
//
// gVisor calls it from its packet path, with its own locks held, so a
// callback only records the outcome (the routes and addresses NDP wants
// now) and wakes the stack's NDP goroutine (run), which brings the route
// table, the filter and OnAddress in line with that record. A burst of
// events, however long, cannot leave a stale route behind: the goroutine
// applies the latest record rather than a queue of changes that could
// overflow. Events that arrive while an update is pending are folded into
// it and counted (Coalesced).
type ndpDispatcher struct {
	st   *Stack // set once the stack exists, before the NIC is enabled
	wake chan struct{}

	// mu guards the record: the routes NDP wants and the SLAAC addresses
	// the NIC has.
	mu     sync.Mutex
	routes map[ndpRoute]bool
	addrs  map[tcpip.Address]tcpip.AddressWithPrefix

	// dns is the name service the advertisements announce, under its
	// own lock.
	dns dnsRecord

	// What run has applied; run's own.
	appliedRoutes map[ndpRoute]bool
	appliedAddrs  map[tcpip.Address]tcpip.AddressWithPrefix
	appliedDNS    DNS6
	dnsExpiry     *time.Timer // wakes run when an entry's lifetime ends

	c ndpCounters
}

// ndpRoute is a route NDP asks for: through a router (Gateway set) or to
// an on-link prefix.
type ndpRoute struct {
	dest    tcpip.Subnet
	gateway tcpip.Address
}

func (r ndpRoute) route() tcpip.Route {
	return tcpip.Route{Destination: r.dest, Gateway: r.gateway, NIC: NICID}
}

type ndpCounters struct {
	events, coalesced, routers, prefixes, addresses, filterErrors, replays atomic.Uint64
	dnsChanges                                                             atomic.Uint64
}

// NDPStats counts what the stack did with IPv6 neighbour discovery.
type NDPStats struct {
	// Events counts gVisor's NDP callbacks; Coalesced those that came
	// while an update was pending and were applied with it.
	Events    uint64 `json:"events"`
	Coalesced uint64 `json:"coalesced"`
	// Routers counts routes through a router added, Prefixes routes to
	// on-link prefixes, Addresses SLAAC addresses configured.
	Routers   uint64 `json:"routers"`
	Prefixes  uint64 `json:"prefixes"`
	Addresses uint64 `json:"addresses"`
	// FilterErrors counts multicast filter changes the driver refused.
	FilterErrors uint64 `json:"filter_errors"`
	// Replays counts router advertisements given back to gVisor when the
	// link returned (see raCache).
	Replays uint64 `json:"replays"`
	// DNSChanges counts the changes of the name servers and search
	// domains the advertisements announce (RFC 8106), expiries included.
	DNSChanges uint64 `json:"dns_changes"`
}

// NDPStats takes a snapshot of the NDP counters.
func (st *Stack) NDPStats() NDPStats {
	c := &st.ndp.c
	return NDPStats{
		Events:       c.events.Load(),
		Coalesced:    c.coalesced.Load(),
		Routers:      c.routers.Load(),
		Prefixes:     c.prefixes.Load(),
		Addresses:    c.addresses.Load(),
		FilterErrors: c.filterErrors.Load(),
		Replays:      c.replays.Load(),
		DNSChanges:   c.dnsChanges.Load(),
	}
}

func newNDPDispatcher() *ndpDispatcher {
	return &ndpDispatcher{
		wake:          make(chan struct{}, 1),
		routes:        map[ndpRoute]bool{},
		addrs:         map[tcpip.Address]tcpip.AddressWithPrefix{},
		appliedRoutes: map[ndpRoute]bool{},
		appliedAddrs:  map[tcpip.Address]tcpip.AddressWithPrefix{},
	}
}

// record changes the record under mu and wakes run.
func (d *ndpDispatcher) record(change func()) {
	d.mu.Lock()
	change()
	d.mu.Unlock()
	d.c.events.Add(1)
	select {
	case d.wake <- struct{}{}:
	default:
		d.c.coalesced.Add(1)
	}
}

// run applies the record each time it changes, until done is closed.
func (d *ndpDispatcher) run(done <-chan struct{}) {
	for {
		select {
		case <-d.wake:
			d.apply()
		case <-done:
			return
		}
	}
}

// apply brings the route table, the multicast filter and OnAddress in line
// with the record: what went first, then what came.
func (d *ndpDispatcher) apply() {
	d.mu.Lock()
	routes, addrs := maps.Clone(d.routes), maps.Clone(d.addrs)
	d.mu.Unlock()
	st := d.st
	for r := range d.appliedRoutes {
		if !routes[r] {
			st.removeRoute(r.route())
			delete(d.appliedRoutes, r)
		}
	}
	for a := range d.appliedAddrs {
		if _, ok := addrs[a]; !ok {
			if st.groups.leaveSolicitedNode(a) != nil {
				d.c.filterErrors.Add(1)
			}
			delete(d.appliedAddrs, a)
		}
	}
	for r := range routes {
		if d.appliedRoutes[r] {
			continue
		}
		st.replaceRoute(r.route())
		d.appliedRoutes[r] = true
		if r.gateway.Len() != 0 {
			d.c.routers.Add(1)
		} else {
			d.c.prefixes.Add(1)
		}
	}
	d.applyDNS()
	for a, p := range addrs {
		if _, ok := d.appliedAddrs[a]; ok {
			continue
		}
		d.appliedAddrs[a] = p
		d.c.addresses.Add(1)
		if st.groups.joinSolicitedNode(a) != nil {
			d.c.filterErrors.Add(1)
		}
		if st.onAddress != nil {
			st.onAddress(netip.PrefixFrom(netip.AddrFrom16(a.As16()), p.PrefixLen))
		}
	}
}

// applyDNS tells Config.OnDNS6 when the name service changed, and sets
// a timer for the next lifetime to end.
func (d *ndpDispatcher) applyDNS() {
	now, next := d.dns.current(time.Now())
	if d.dnsExpiry != nil {
		d.dnsExpiry.Stop()
	}
	if !next.IsZero() {
		d.dnsExpiry = time.AfterFunc(time.Until(next), d.poke)
	}
	if now.equal(d.appliedDNS) {
		return
	}
	d.appliedDNS = now
	d.c.dnsChanges.Add(1)
	if d.st.onDNS6 != nil {
		d.st.onDNS6(now)
	}
}

// poke wakes run without an event.
func (d *ndpDispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// DNS6 is the name service router advertisements announce now.
func (st *Stack) DNS6() DNS6 {
	d, _ := st.ndp.dns.current(time.Now())
	return d
}

var _ ipv6.NDPDispatcher = (*ndpDispatcher)(nil)

// OnDuplicateAddressDetectionResult implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnDuplicateAddressDetectionResult(tcpip.NICID, tcpip.Address, stack.DADResult) {
}

// OnOffLinkRouteUpdated implements ipv6.NDPDispatcher: a router (default
// or for a more specific prefix) becomes a route through it.
func (d *ndpDispatcher) OnOffLinkRouteUpdated(_ tcpip.NICID, dest tcpip.Subnet, router tcpip.Address, _ header.NDPRoutePreference) {
	d.record(func() { d.routes[ndpRoute{dest, router}] = true })
}

// OnOffLinkRouteInvalidated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOffLinkRouteInvalidated(_ tcpip.NICID, dest tcpip.Subnet, router tcpip.Address) {
	d.record(func() { delete(d.routes, ndpRoute{dest, router}) })
}

// OnOnLinkPrefixDiscovered implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOnLinkPrefixDiscovered(_ tcpip.NICID, prefix tcpip.Subnet) {
	d.record(func() { d.routes[ndpRoute{dest: prefix}] = true })
}

// OnOnLinkPrefixInvalidated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOnLinkPrefixInvalidated(_ tcpip.NICID, prefix tcpip.Subnet) {
	d.record(func() { delete(d.routes, ndpRoute{dest: prefix}) })
}

// OnAutoGenAddress implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnAutoGenAddress(_ tcpip.NICID, addr tcpip.AddressWithPrefix) stack.AddressDispatcher {
	d.record(func() { d.addrs[addr.Address] = addr })
	return nil
}

// OnAutoGenAddressDeprecated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnAutoGenAddressDeprecated(tcpip.NICID, tcpip.AddressWithPrefix) {}

// OnAutoGenAddressInvalidated implements ipv6.NDPDispatcher: the address
// is gone (its lifetime ran out, or the NIC was disabled).
func (d *ndpDispatcher) OnAutoGenAddressInvalidated(_ tcpip.NICID, addr tcpip.AddressWithPrefix) {
	d.record(func() { delete(d.addrs, addr.Address) })
}

// OnRecursiveDNSServerOption implements ipv6.NDPDispatcher: name servers
// for their lifetime (RFC 8106).
func (d *ndpDispatcher) OnRecursiveDNSServerOption(_ tcpip.NICID, addrs []tcpip.Address, lifetime time.Duration) {
	var as []netip.Addr
	for _, a := range addrs {
		as = append(as, netip.AddrFrom16(a.As16()))
	}
	d.record(func() { d.dns.announce(as, nil, lifetime, time.Now()) })
}

// OnDNSSearchListOption implements ipv6.NDPDispatcher: search domains for
// their lifetime (RFC 8106).
func (d *ndpDispatcher) OnDNSSearchListOption(_ tcpip.NICID, names []string, lifetime time.Duration) {
	var ns []string
	for _, n := range names {
		ns = append(ns, strings.TrimSuffix(n, "."))
	}
	d.record(func() { d.dns.announce(nil, ns, lifetime, time.Now()) })
}

// OnDHCPv6Configuration implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnDHCPv6Configuration(tcpip.NICID, ipv6.DHCPv6ConfigurationFromNDPRA) {}
