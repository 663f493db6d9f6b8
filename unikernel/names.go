//go:build tamago

package unikernel

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"tamanet/dhcpclient"
	"tamanet/netstack"
	"tamanet/unikernel/resolvconf"
)

// nameFiles keeps the files Go's resolver reads (/etc/resolv.conf and
// /etc/hosts in the in-memory file system) in line with
// the system: the name server of dns=, else those of the DHCP lease (all
// of its servers, in order) and then of IPv6 router advertisements
// (RDNSS, RFC 8106; link-local ones are left out, as Go's resolver would
// need a zone for them); the lease's search domains (option 119, else its
// domain name, option 15) and then the advertisements' (DNSSL); and the
// system's own name for its addresses. It rewrites them when the lease
// or the advertisements change and when SLAAC adds an address.
type nameFiles struct {
	w   resolvconf.Writer
	log func(string)

	mu       sync.Mutex
	hostname string
	dns      netip.Addr // dns=, which replaces the lease's servers
	lease    dhcpclient.Lease
	dns6     netstack.DNS6
	addrs    func() []netip.Prefix // nil until the stack is up

	updates, errors atomic.Uint64
	lastErr         atomic.Value // string
}

// newNameFiles starts the files' record for the system called name; its
// files are written from the first update once the stack is up (start).
// A name that is not a host name leaves /etc/hosts without one.
func newNameFiles(name string, dns netip.Addr, log func(string)) *nameFiles {
	n := &nameFiles{w: resolvconf.Writer{Root: "/"}, log: log, dns: dns}
	if err := resolvconf.CheckHostname(name); err != nil {
		log(fmt.Sprintf("%v: /etc/hosts maps no own name", err))
	} else {
		n.hostname = name
	}
	return n
}

// start writes the files for the first time, with the stack's addresses.
func (n *nameFiles) start(addrs func() []netip.Prefix) {
	n.mu.Lock()
	n.addrs = addrs
	n.mu.Unlock()
	n.update()
}

// setLease records the DHCP lease (invalid: none) and rewrites what it
// changes.
func (n *nameFiles) setLease(l dhcpclient.Lease) {
	n.mu.Lock()
	n.lease = l
	n.mu.Unlock()
	n.update()
}

// setDNS6 records what router advertisements announce (RDNSS, DNSSL).
func (n *nameFiles) setDNS6(d netstack.DNS6) {
	n.mu.Lock()
	n.dns6 = d
	n.mu.Unlock()
	n.update()
}

// config is the resolver configuration the record makes.
func (n *nameFiles) config() (resolvconf.Config, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.addrs == nil {
		return resolvconf.Config{}, false
	}
	c := resolvconf.Config{Hostname: n.hostname, Domain: n.lease.Domain, Search: slices.Clone(n.lease.Search)}
	if n.dns.IsValid() {
		c.Servers = []netip.Addr{n.dns}
	} else {
		c.Servers = append(slices.Clone(n.lease.DNS), n.dns6.Servers...)
	}
	if len(c.Search) == 0 && c.Domain != "" {
		c.Search = []string{c.Domain}
	}
	for _, d := range n.dns6.Search {
		if !slices.Contains(c.Search, d) {
			c.Search = append(c.Search, d)
		}
	}
	for _, p := range n.addrs() {
		c.Addrs = append(c.Addrs, p.Addr())
	}
	return c, true
}

// update rewrites the files that changed and says so on the console.
func (n *nameFiles) update() {
	c, ok := n.config()
	if !ok {
		return
	}
	changed, err := n.w.Update(c)
	if err != nil {
		n.errors.Add(1)
		n.lastErr.Store(err.Error())
		n.log(err.Error())
		return
	}
	if len(changed) == 0 {
		return
	}
	n.updates.Add(1)
	for _, p := range changed {
		if p == resolvconf.ResolvConfPath {
			n.log("/etc/resolv.conf: " + settings(c.ResolvConf()))
		}
	}
}

// settings is a file's lines without its comments, joined for one
// console line.
func settings(b []byte) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l, _, _ = strings.Cut(l, "#"); strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "; ")
}

// resolverStats is the "resolver" member of GET /stats.
type resolverStats struct {
	// ResolvConf and Hosts are the files as last written (JSON only).
	ResolvConf string `json:"resolv_conf"`
	Hosts      string `json:"hosts"`
	// Updates counts the rewrites of the files (the first included);
	// Errors the rewrites that failed, LastError says why for the latest.
	Updates   uint64 `json:"updates"`
	Errors    uint64 `json:"errors"`
	LastError string `json:"last_error"`
}

func (n *nameFiles) stats() resolverStats {
	st := resolverStats{Updates: n.updates.Load(), Errors: n.errors.Load()}
	if st.Updates > 0 {
		c := n.w.Config()
		st.ResolvConf, st.Hosts = string(c.ResolvConf()), string(c.Hosts())
	}
	if why, ok := n.lastErr.Load().(string); ok {
		st.LastError = why
	}
	return st
}
