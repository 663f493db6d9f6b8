package resolvconf

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// body drops the comment lines.
func body(b []byte) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestResolvConf(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"lease with search", Config{Servers: addrs("10.0.2.3", "10.0.2.4"), Search: []string{"tamanet.test", "lab.tamanet.test"}},
			"nameserver 10.0.2.3\nnameserver 10.0.2.4\nsearch tamanet.test lab.tamanet.test"},
		{"IPv6, duplicates and link-local dropped, v4-mapped unmapped",
			Config{Servers: addrs("2001:db8::53", "fe80::1", "::ffff:10.0.2.3", "10.0.2.3")},
			"nameserver 2001:db8::53\nnameserver 10.0.2.3"},
		{"no server: fail fast", Config{Search: []string{"tamanet.test"}},
			"search tamanet.test\n" + NoServerOptions},
		{"only a link-local server: as none", Config{Servers: addrs("fe80::1")}, NoServerOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := body(tc.c.ResolvConf()); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	// Past the third, servers are written with a note.
	got := string(Config{Servers: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")}.ResolvConf())
	if !strings.Contains(got, "nameserver 10.0.0.4 # this and those below are not used") {
		t.Errorf("fourth server:\n%s", got)
	}
}

func TestHosts(t *testing.T) {
	local := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback"
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"no name", Config{Addrs: addrs("10.0.2.15")}, local},
		{"name and domain", Config{Hostname: "kv", Domain: "tamanet.test", Addrs: addrs("10.0.2.15", "fe80::1", "2001:db8::15", "10.0.2.15")},
			local + "\n10.0.2.15\tkv.tamanet.test kv\n2001:db8::15\tkv.tamanet.test kv"},
		{"name alone", Config{Hostname: "kv", Addrs: addrs("10.0.2.15")}, local + "\n10.0.2.15\tkv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := body(tc.c.Hosts()); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestWriter: the files appear under the root, only changed ones are
// rewritten, bad names write nothing.
func TestWriter(t *testing.T) {
	root := t.TempDir()
	w := &Writer{Root: root}
	c := Config{Hostname: "kv", Addrs: addrs("10.0.2.15"), Servers: addrs("10.0.2.3")}
	changed, err := w.Update(c)
	if err != nil || !slices.Equal(changed, []string{HostsPath, ResolvConfPath}) {
		t.Fatalf("first update: %v, %v", changed, err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read(ResolvConfPath) != string(c.ResolvConf()) || read(HostsPath) != string(c.Hosts()) {
		t.Fatal("files differ from the config")
	}
	if changed, err := w.Update(c); err != nil || changed != nil {
		t.Fatalf("same config: rewrote %v, %v", changed, err)
	}
	// A renewal with other servers rewrites resolv.conf only.
	c.Servers = addrs("10.0.2.4", "10.0.2.3")
	if changed, err := w.Update(c); err != nil || !slices.Equal(changed, []string{ResolvConfPath}) {
		t.Fatalf("new servers: rewrote %v, %v", changed, err)
	}
	if !strings.Contains(read(ResolvConfPath), "nameserver 10.0.2.4\nnameserver 10.0.2.3\n") {
		t.Fatalf("resolv.conf:\n%s", read(ResolvConfPath))
	}
	if _, err := os.Stat(filepath.Join(root, ResolvConfPath+".new")); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	for _, bad := range []Config{{Hostname: "a b"}, {Hostname: "kv.tamanet"}, {Domain: "x..y"}, {Search: []string{"#"}}} {
		if changed, err := w.Update(bad); err == nil || changed != nil {
			t.Errorf("%+v: wrote %v, %v", bad, changed, err)
		}
	}
	if w.Config().Servers[0] != c.Servers[0] {
		t.Errorf("Config() = %+v", w.Config())
	}
}
