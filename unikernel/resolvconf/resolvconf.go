// Package resolvconf writes the files Go's own DNS resolver reads, the way
// a Linux system has them: /etc/resolv.conf (name servers, search domains;
// resolv.conf(5)) and /etc/hosts (localhost and the unikernel's own name;
// hosts(5)). The unikernel keeps them in its in-memory
// file system and rewrites them when its configuration changes (a new
// DHCP lease, a SLAAC address); Go's resolver notices by the files'
// modification times (net/dnsconfig_unix.go and net/hosts.go look again at
// most every 5 seconds), so no part of package net is patched.
package resolvconf

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"tamanet/inet"
)

// Paths of the files, relative to the root Writer writes under.
const (
	ResolvConfPath = "etc/resolv.conf"
	HostsPath      = "etc/hosts"
)

// MaxUsedServers is how many name servers Go's resolver (like glibc's,
// MAXNS) takes from resolv.conf: the rest are written but unused.
const MaxUsedServers = 3

// Config is the resolver configuration.
type Config struct {
	// Hostname is the unikernel's own name, a single label; Domain its
	// domain ("" if none is known). hosts maps both Hostname and
	// Hostname.Domain to Addrs.
	Hostname string
	Domain   string
	// Addrs are the unikernel's own addresses (link-local ones are left
	// out of hosts: they need a zone).
	Addrs []netip.Addr
	// Servers are the name servers, in order of preference; link-local
	// IPv6 ones are left out (Go's resolver would need a zone for them).
	Servers []netip.Addr
	// Search are the search domains, in order.
	Search []string
}

// NoServerOptions is the options line resolv.conf carries when there is
// no name server. Go's resolver then asks 127.0.0.1:53 and [::1]:53
// (net/dnsconfig.go's defaultNS), where nothing answers in the unikernel:
// with its defaults (timeout:5 attempts:2) each lookup would wait up to
// 20 seconds for every search name before failing; with these it gives up
// after a second per server, or at once when the stack refuses.
const NoServerOptions = "options timeout:1 attempts:1"

// usableServers are c's servers resolv.conf can carry.
func (c Config) usableServers() []netip.Addr {
	var out []netip.Addr
	for _, a := range c.Servers {
		if a.IsValid() && !a.IsLinkLocalUnicast() && !slices.Contains(out, a) {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// CheckHostname accepts a name the unikernel can call itself: one label
// of a domain name (letters, digits, '-' and '_').
func CheckHostname(name string) error {
	if strings.Contains(name, ".") {
		return fmt.Errorf("host name %q: one label, no dots", name)
	}
	if err := inet.CheckDomainName(name); err != nil {
		return fmt.Errorf("host name %q: %w", name, err)
	}
	return nil
}

// ResolvConf is the content of /etc/resolv.conf.
func (c Config) ResolvConf() []byte {
	var b bytes.Buffer
	b.WriteString("# Written by the tamanet unikernel at bring-up (dns= or the DHCP lease, IPv6 router advertisements).\n")
	servers := c.usableServers()
	for i, a := range servers {
		fmt.Fprintf(&b, "nameserver %v", a)
		if i == MaxUsedServers {
			fmt.Fprintf(&b, " # this and those below are not used: resolvers take the first %d", MaxUsedServers)
		}
		b.WriteByte('\n')
	}
	if len(c.Search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(c.Search, " "))
	}
	if len(servers) == 0 {
		b.WriteString("# No name server (neither dns= nor a DHCP lease gave one): lookups of names\n")
		b.WriteString("# outside /etc/hosts fail, after at most a second per default server.\n")
		b.WriteString(NoServerOptions + "\n")
	}
	return b.Bytes()
}

// Hosts is the content of /etc/hosts: localhost and, with a Hostname, the
// unikernel's own name for each of its addresses (the FQDN first, as
// hosts(5) wants the canonical name first).
func (c Config) Hosts() []byte {
	var b bytes.Buffer
	b.WriteString("# Written by the tamanet unikernel at bring-up.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	if c.Hostname == "" {
		return b.Bytes()
	}
	names := c.Hostname
	if c.Domain != "" {
		names = c.Hostname + "." + c.Domain + " " + c.Hostname
	}
	var seen []netip.Addr
	for _, a := range c.Addrs {
		a = a.Unmap()
		if !a.IsValid() || a.IsLinkLocalUnicast() || a.IsUnspecified() || slices.Contains(seen, a) {
			continue
		}
		seen = append(seen, a)
		fmt.Fprintf(&b, "%v\t%s\n", a, names)
	}
	return b.Bytes()
}

// Writer writes the files under a root directory ("/" in the unikernel, a
// temporary directory in tests), each only when its content changes, so
// Go's resolver re-reads only what changed.
type Writer struct {
	// Root is the directory the paths are under.
	Root string

	mu   sync.Mutex
	last Config
	// written are the files' contents as last written, by path.
	written map[string][]byte
}

// Update writes the files for c, those whose content differs from what
// is there. It reports which it wrote. A Hostname or Domain that is not a
// name is an error, and nothing is written.
func (w *Writer) Update(c Config) (changed []string, err error) {
	if c.Hostname != "" {
		if err := CheckHostname(c.Hostname); err != nil {
			return nil, fmt.Errorf("resolvconf: %w", err)
		}
	}
	if c.Domain != "" {
		if err := inet.CheckDomainName(c.Domain); err != nil {
			return nil, fmt.Errorf("resolvconf: domain %q: %w", c.Domain, err)
		}
	}
	for _, s := range c.Search {
		if err := inet.CheckDomainName(s); err != nil {
			return nil, fmt.Errorf("resolvconf: search domain %q: %w", s, err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.written == nil {
		w.written = map[string][]byte{}
	}
	files := []struct {
		path string
		data []byte
	}{
		{HostsPath, c.Hosts()},
		{ResolvConfPath, c.ResolvConf()},
	}
	for _, f := range files {
		if prev, ok := w.written[f.path]; ok && bytes.Equal(prev, f.data) {
			continue
		}
		if err := WriteFile(filepath.Join(w.Root, f.path), f.data); err != nil {
			return changed, fmt.Errorf("resolvconf: %w", err)
		}
		w.written[f.path] = f.data
		changed = append(changed, f.path)
	}
	w.last = c
	return changed, nil
}

// Config is the configuration last written.
func (w *Writer) Config() Config {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// WriteFile replaces the file at path with data through a temporary file
// and a rename, so that a reader meanwhile (a lookup, os.Hostname) sees
// the old file or the new one, never half of one.
func WriteFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
