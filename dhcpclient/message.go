package dhcpclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"time"

	"tamanet/inet"
)

// UDP ports of DHCP (RFC 2131 section 4.1).
const (
	ServerPort = 67
	ClientPort = 68
)

const (
	// flagBroadcast asks the server to broadcast its reply: the client
	// cannot take unicast for an address it has not configured yet (RFC
	// 2131 section 4.1).
	flagBroadcast = 0x8000
	// minMessageLen is the BOOTP message size some relays and servers
	// insist on (RFC 1542 section 2.1); shorter messages are padded.
	minMessageLen = 300
	// infiniteLeaseTime is the lease time option's "forever" (RFC 2131
	// section 3.3).
	infiniteLeaseTime = math.MaxUint32
)

// Infinite is the Duration (and T1 and T2) of a lease that never ends.
const Infinite = time.Duration(math.MaxInt64)

// requested are the options the client asks for (Parameter Request List,
// RFC 2132 section 9.8).
var requested = []byte{
	byte(optSubnetMask), byte(optRouter), byte(optDNS),
	byte(optLeaseTime), byte(optT1), byte(optT2),
	byte(optDomainName), byte(optDomainSearch),
}

// outgoing is a message the client sends.
type outgoing struct {
	typ       msgType
	xid       uint32
	secs      uint16
	broadcast bool
	ciaddr    netip.Addr // RENEWING and REBINDING: the leased address
	requested netip.Addr // REQUESTING: Requested IP Address (option 50)
	server    netip.Addr // REQUESTING: Server Identifier (option 54)
}

// encode builds m as a BOOTREQUEST from mac, padded to minMessageLen.
func encode(m outgoing, mac [6]byte, hostname string) []byte {
	var flags uint16
	if m.broadcast {
		flags = flagBroadcast
	}
	var ciaddr [4]byte
	if m.ciaddr.Is4() {
		ciaddr = m.ciaddr.As4()
	}
	w := newRequest(m.xid, m.secs, flags, ciaddr, mac)
	w.option(optMessageType, []byte{byte(m.typ)})
	// Client identifier: hardware type 1 (Ethernet) and the MAC (RFC 2132
	// section 9.14), so the server keys the lease as most clients do.
	w.option(optClientID, append([]byte{htypeEthernet}, mac[:]...))
	if m.requested.IsValid() {
		w.option(optRequestedAddr, m.requested.AsSlice())
	}
	if m.server.IsValid() {
		w.option(optServerID, m.server.AsSlice())
	}
	w.option(optParamRequest, requested)
	if hostname != "" && len(hostname) <= math.MaxUint8 {
		w.option(optHostname, []byte(hostname))
	}
	return w.finish()
}

// reply is a server's message, checked and copied out of the receive
// buffer.
type reply struct {
	typ msgType
	xid uint32
	mac [6]byte
	// lease is what an OFFER or ACK grants (its Server may be invalid
	// for an ACK without a Server Identifier).
	lease Lease
	// server is the Server Identifier, invalid if there was none.
	server netip.Addr
	// message is the server's text (option 56), e.g. a NAK's reason.
	message string
	// nameErr says why the Domain Name or Domain Search option was
	// left out of lease: a malformed name costs the lease its search
	// domains, not the lease itself.
	nameErr error
}

// errMalformed wraps every reason parseReply rejects a message for.
var errMalformed = errors.New("malformed DHCP reply")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// parseReply decodes and checks a message received on the client port. It
// rejects what no client could use: not a DHCP BOOTREPLY for an Ethernet
// address, options of the wrong size, an OFFER or ACK without a usable
// address, lease time or (OFFER) server. Whether the reply belongs to the
// client's transaction is the caller's business.
func parseReply(b []byte) (reply, error) {
	d, err := decodeMessage(b)
	if err != nil {
		return reply{}, malformed("%v", err)
	}
	if d.op != opReply {
		return reply{}, malformed("op %d, not BOOTREPLY", d.op)
	}
	if d.htype != htypeEthernet || d.hlen != 6 {
		return reply{}, malformed("hardware type %d length %d, not Ethernet", d.htype, d.hlen)
	}
	opts := d.options
	r := reply{xid: d.xid, mac: [6]byte(d.chaddr[:6])}
	mt, ok := opts[optMessageType]
	if !ok || len(mt) != 1 {
		return reply{}, malformed("no DHCP message type (a BOOTP reply?)")
	}
	r.typ = msgType(mt[0])
	if r.server, err = optAddr(opts, optServerID); err != nil {
		return reply{}, err
	}
	r.message = string(opts[optMessage])
	if r.typ != msgOffer && r.typ != msgAck {
		return r, nil
	}
	if r.lease, err = parseLease(netip.AddrFrom4(d.yiaddr), opts); err != nil {
		return reply{}, err
	}
	r.lease.Server = r.server
	r.lease.Domain, r.lease.Search, r.nameErr = parseNames(opts)
	if r.typ == msgOffer && !r.server.IsValid() {
		return reply{}, malformed("OFFER without a server identifier")
	}
	return r, nil
}

// parseLease reads the lease an OFFER or ACK grants to addr.
func parseLease(addr netip.Addr, opts map[optCode][]byte) (Lease, error) {
	if !addr.IsValid() || !usable(addr) {
		return Lease{}, malformed("offered address %v is not a unicast host address", addr)
	}
	bits := classfulBits(addr) // RFC 1122 section 3.3.1.1 without a mask
	if m, ok := opts[optSubnetMask]; ok {
		if len(m) != 4 {
			return Lease{}, malformed("subnet mask of %d bytes", len(m))
		}
		ones, size := net.IPMask(m).Size()
		if size == 0 || ones == 0 {
			return Lease{}, malformed("subnet mask %v", net.IP(m))
		}
		bits = ones
	}
	prefix := netip.PrefixFrom(addr, bits)
	if bits <= 30 && (addr == prefix.Masked().Addr() || addr == inet.Broadcast(prefix)) {
		return Lease{}, malformed("offered address %v is not a host of %v", addr, prefix.Masked())
	}
	l := Lease{Addr: prefix}
	secs, ok, err := optUint32(opts, optLeaseTime)
	switch {
	case err != nil:
		return Lease{}, err
	case !ok:
		return Lease{}, malformed("no lease time")
	case secs == 0:
		return Lease{}, malformed("lease time 0")
	}
	l.Duration, l.T1, l.T2 = timesOf(secs, opts)
	routers, err := optAddrs(opts, optRouter)
	if err != nil {
		return Lease{}, err
	}
	for _, r := range routers {
		if r != addr && usable(r) {
			l.Gateway = r
			break
		}
	}
	dns, err := optAddrs(opts, optDNS)
	if err != nil {
		return Lease{}, err
	}
	for _, a := range dns {
		if usable(a) || a.IsLoopback() {
			l.DNS = append(l.DNS, a)
		}
	}
	return l, nil
}

// parseNames reads the Domain Name and Domain Search options; on an error
// it returns neither.
func parseNames(opts map[optCode][]byte) (domain string, search []string, err error) {
	if b, ok := opts[optDomainName]; ok {
		if domain, err = parseDomainName(b); err != nil {
			return "", nil, err
		}
	}
	if b, ok := opts[optDomainSearch]; ok {
		if search, err = parseSearchList(b); err != nil {
			return "", nil, err
		}
	}
	return domain, search, nil
}

// timesOf works out the lease duration, T1 and T2 from the lease time in
// seconds and the options. The server's T1 and T2 are taken when they fall
// in order inside the lease (0 < T1 < T2 < lease); otherwise RFC 2131
// section 4.4.5's defaults, half and seven eighths of the lease.
func timesOf(secs uint32, opts map[optCode][]byte) (lease, t1, t2 time.Duration) {
	if secs == infiniteLeaseTime {
		return Infinite, Infinite, Infinite
	}
	lease = time.Duration(secs) * time.Second
	t1, t2 = lease/2, lease-lease/8 // lease*7/8 overflows for leases past 2^30 s
	s1, ok1, err1 := optUint32(opts, optT1)
	s2, ok2, err2 := optUint32(opts, optT2)
	if ok1 && ok2 && err1 == nil && err2 == nil && 0 < s1 && s1 < s2 && s2 < secs {
		t1, t2 = time.Duration(s1)*time.Second, time.Duration(s2)*time.Second
	}
	return lease, t1, t2
}

// optUint32 reads a 32-bit option; ok is false if it is absent.
func optUint32(opts map[optCode][]byte, code optCode) (v uint32, ok bool, err error) {
	b, ok := opts[code]
	if !ok {
		return 0, false, nil
	}
	if len(b) != 4 {
		return 0, false, malformed("option %d of %d bytes, want 4", code, len(b))
	}
	return binary.BigEndian.Uint32(b), true, nil
}

// optAddr reads a one-address option; the result is invalid if it is absent.
func optAddr(opts map[optCode][]byte, code optCode) (netip.Addr, error) {
	b, ok := opts[code]
	if !ok {
		return netip.Addr{}, nil
	}
	a, ok := netip.AddrFromSlice(b)
	if !ok || !a.Is4() {
		return netip.Addr{}, malformed("option %d of %d bytes, want 4", code, len(b))
	}
	return a, nil
}

// optAddrs reads a list-of-addresses option (absent: none).
func optAddrs(opts map[optCode][]byte, code optCode) ([]netip.Addr, error) {
	b, ok := opts[code]
	if !ok {
		return nil, nil
	}
	if len(b) == 0 || len(b)%4 != 0 {
		return nil, malformed("option %d of %d bytes, want a multiple of 4", code, len(b))
	}
	out := make([]netip.Addr, 0, len(b)/4)
	for i := 0; i < len(b); i += 4 {
		out = append(out, netip.AddrFrom4([4]byte(b[i:i+4])))
	}
	return out, nil
}

// usable reports whether a is an IPv4 address a host can have.
func usable(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && a.As4()[0] < 240
}

// classfulBits is the prefix length of addr's class (A, B or C).
func classfulBits(addr netip.Addr) int {
	switch b := addr.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	}
	return 24
}
