package dhcpclient

import (
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"tamanet/inet"
)

// wireName is name in DNS wire form, uncompressed.
func wireName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// TestParseSearchList: RFC 3397's own example (section 4) and the ways a
// list can be wrong.
func TestParseSearchList(t *testing.T) {
	// "eng.apple.com." and "marketing.apple.com.", the second compressed
	// to a pointer at "apple.com." inside the first.
	rfcExample := []byte{
		3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xC0, 4,
	}
	long := strings.Repeat("a", 63)
	tooLong := wireName(strings.Join([]string{long, long, long, long}, "."))
	many := []byte{}
	for range MaxSearchNames + 1 {
		many = append(many, wireName("x.test")...)
	}
	for _, tc := range []struct {
		name    string
		in      []byte
		want    []string
		wantErr string
	}{
		{"RFC 3397's example", rfcExample, []string{"eng.apple.com", "marketing.apple.com"}, ""},
		{"one name", wireName("tamanet.test"), []string{"tamanet.test"}, ""},
		{"a chain of pointers", append(append(wireName("com"), 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0xC0, 0), 3, 'w', 'w', 'w', 0xC0, 5),
			[]string{"com", "example.com", "www.example.com"}, ""},
		{"as many names as allowed", many[:len(many)-len(wireName("x.test"))], slices.Repeat([]string{"x.test"}, MaxSearchNames), ""},
		{"empty", nil, nil, ""},
		{"too many names", many, nil, "more than 32 names"},
		{"a pointer to itself", []byte{0xC0, 0}, nil, "not before byte 0"},
		{"a pointer forward", []byte{0xC0, 2, 1, 'a', 0}, nil, "not before byte 0"},
		{"a loop through a label", []byte{1, 'a', 0, 1, 'b', 0xC0, 3}, nil, "not before byte 3"},
		{"two pointers that loop", []byte{1, 'a', 0xC0, 4, 1, 'b', 0xC0, 0}, nil, "name 1 at byte 0"},
		{"a pointer cut short", []byte{1, 'a', 0xC0}, nil, "pointer at byte 2 cut short"},
		{"a label past the end", []byte{5, 'a', 'b'}, nil, "runs past the end"},
		{"no final zero", []byte{1, 'a'}, nil, "cut short at byte 2"},
		{"label type 0x40", []byte{0x41, 'a', 0}, nil, "label type 0x40"},
		{"label type 0x80", []byte{0x81, 'a', 0}, nil, "label type 0x80"},
		{"the root", []byte{0}, nil, "the root, not a domain"},
		{"past 255 bytes", tooLong, nil, "longer than 255 bytes"},
		{"a space", wireName("a b.test"), nil, `byte ' '`},
		{"a comment character", wireName("a#.test"), nil, `byte '#'`},
		{"a control byte", wireName("a\n.test"), nil, `byte '\n'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSearchList(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "domain search option") {
					t.Fatalf("got %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseDomainName(t *testing.T) {
	for in, want := range map[string]string{
		"tamanet.test": "tamanet.test", "tamanet.test.": "tamanet.test", "lan\x00": "lan",
		"": "", ".": "", "a..b": "", "a b": "", strings.Repeat("a", 64): "",
	} {
		got, err := parseDomainName([]byte(in))
		if got != want || (err == nil) != (want != "") {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzParseSearchList: no input crashes or hangs the parser, and every
// name it returns is one resolv.conf can carry.
func FuzzParseSearchList(f *testing.F) {
	f.Add([]byte{3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xC0, 4})
	f.Add([]byte{1, 'a', 0xC0, 4, 1, 'b', 0xC0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := parseSearchList(b)
		if err != nil {
			return
		}
		if len(names) > MaxSearchNames {
			t.Fatalf("%d names", len(names))
		}
		for _, n := range names {
			if inet.CheckDomainName(n) != nil {
				t.Fatalf("accepted %q", n)
			}
		}
	})
}

// TestLeaseNames: the domain and search list reach the lease; a malformed
// one is left out and said why, the lease kept.
func TestLeaseNames(t *testing.T) {
	r := discoverFor(t)
	opt := layers.NewDHCPOption
	names := []layers.DHCPOption{
		opt(layers.DHCPOptDomainName, []byte("tamanet.test")),
		// Split in two (RFC 3396), with the pointer's target in the first part.
		opt(layers.DHCPOpt(optDomainSearch), []byte{7, 't', 'a', 'm', 'a', 'n', 'e', 't', 4, 't', 'e', 's', 't', 0}),
		opt(layers.DHCPOpt(optDomainSearch), []byte{3, 'l', 'a', 'b', 0xC0, 0}),
	}
	got, err := parseReply(replyTo(r, layers.DHCPMsgTypeAck, leaseOpts{addr: leaseA, lease: 60, extraOpts: names}))
	if err != nil || got.nameErr != nil || got.lease.Domain != "tamanet.test" ||
		!slices.Equal(got.lease.Search, []string{"tamanet.test", "lab.tamanet.test"}) {
		t.Fatalf("got %+v, %v, %v", got.lease, got.nameErr, err)
	}
	if s := got.lease.String(); !strings.HasSuffix(s, ", domain tamanet.test, search tamanet.test,lab.tamanet.test)") {
		t.Errorf("String: %s", s)
	}
	bad := []layers.DHCPOption{opt(layers.DHCPOptDomainName, []byte("tamanet.test")), opt(layers.DHCPOpt(optDomainSearch), []byte{0xC0, 0})}
	got, err = parseReply(replyTo(r, layers.DHCPMsgTypeAck, leaseOpts{addr: leaseA, lease: 60, extraOpts: bad}))
	if err != nil || got.nameErr == nil || got.lease.Addr != leaseA || got.lease.Domain != "" || got.lease.Search != nil {
		t.Fatalf("malformed search list: got %+v, %v, %v", got.lease, got.nameErr, err)
	}
}
