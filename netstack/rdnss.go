package netstack

import (
	"net/netip"
	"slices"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// dnsRecord keeps the name servers (RDNSS) and search domains (DNSSL) that
// router advertisements announce (RFC 8106), each until its lifetime
// ends, in the order they were first announced. gVisor hands each option
// over as it arrives and leaves the lifetimes to its integrator.
type dnsRecord struct {
	mu      sync.Mutex
	servers []expiring[netip.Addr]
	search  []expiring[string]
}

// expiring is a value good until a time; the zero time is forever
// (RFC 8106's infinite lifetime, 0xffffffff seconds).
type expiring[T comparable] struct {
	v     T
	until time.Time
}

// refresh sets the lifetime of vs in list (RFC 8106 section 5.1: a known
// value takes the new lifetime, 0 removes it) and returns the list.
func refresh[T comparable](list []expiring[T], vs []T, lifetime time.Duration, now time.Time) []expiring[T] {
	var until time.Time
	if lifetime != header.NDPInfiniteLifetime {
		until = now.Add(lifetime)
	}
	for _, v := range vs {
		i := slices.IndexFunc(list, func(e expiring[T]) bool { return e.v == v })
		switch {
		case lifetime == 0 && i >= 0:
			list = slices.Delete(list, i, i+1)
		case lifetime == 0:
		case i >= 0:
			list[i].until = until
		default:
			list = append(list, expiring[T]{v, until})
		}
	}
	return list
}

// live drops what has expired by now and returns the rest's values and
// the earliest end among them (zero: none ends).
func live[T comparable](list []expiring[T], now time.Time) ([]expiring[T], []T, time.Time) {
	list = slices.DeleteFunc(list, func(e expiring[T]) bool { return !e.until.IsZero() && !now.Before(e.until) })
	var vs []T
	var next time.Time
	for _, e := range list {
		vs = append(vs, e.v)
		if !e.until.IsZero() && (next.IsZero() || e.until.Before(next)) {
			next = e.until
		}
	}
	return list, vs, next
}

// DNS6 is what router advertisements say about name service now.
type DNS6 struct {
	// Servers are the RDNSS addresses, Search the DNSSL domains (without
	// the final dot), both in the order first announced.
	Servers []netip.Addr
	Search  []string
}

// announce records name servers and search domains an advertisement
// carried with lifetime (either list may be empty).
func (r *dnsRecord) announce(servers []netip.Addr, search []string, lifetime time.Duration, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.servers = refresh(r.servers, servers, lifetime, now)
	r.search = refresh(r.search, search, lifetime, now)
}

// current returns the live record and when it next changes by itself
// (zero: never).
func (r *dnsRecord) current(now time.Time) (DNS6, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d DNS6
	var n1, n2 time.Time
	r.servers, d.Servers, n1 = live(r.servers, now)
	r.search, d.Search, n2 = live(r.search, now)
	if n1.IsZero() || (!n2.IsZero() && n2.Before(n1)) {
		n1 = n2
	}
	return d, n1
}

func (d DNS6) equal(o DNS6) bool {
	return slices.Equal(d.Servers, o.Servers) && slices.Equal(d.Search, o.Search)
}
