package dhcpclient

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
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
	byte(layers.DHCPOptSubnetMask), byte(layers.DHCPOptRouter), byte(layers.DHCPOptDNS),
	byte(layers.DHCPOptLeaseTime), byte(layers.DHCPOptT1), byte(layers.DHCPOptT2),
}

// outgoing is a message the client sends.
type outgoing struct {
	typ       layers.DHCPMsgType
	xid       uint32
	secs      uint16
	broadcast bool
	ciaddr    netip.Addr // RENEWING and REBINDING: the leased address
	requested netip.Addr // REQUESTING: Requested IP Address (option 50)
	server    netip.Addr // REQUESTING: Server Identifier (option 54)
}

// encode builds m as a BOOTREQUEST from mac, padded to minMessageLen.
func encode(m outgoing, mac [6]byte, hostname string) []byte {
	d := layers.DHCPv4{
		Operation:    layers.DHCPOpRequest,
		HardwareType: layers.LinkTypeEthernet,
		HardwareLen:  6,
		Xid:          m.xid,
		Secs:         m.secs,
		ClientHWAddr: net.HardwareAddr(mac[:]),
	}
	if m.broadcast {
		d.Flags = flagBroadcast
	}
	if m.ciaddr.IsValid() {
		d.ClientIP = m.ciaddr.AsSlice()
	}
	opt := func(t layers.DHCPOpt, data []byte) {
		d.Options = append(d.Options, layers.NewDHCPOption(t, data))
	}
	opt(layers.DHCPOptMessageType, []byte{byte(m.typ)})
	// Client identifier: hardware type 1 (Ethernet) and the MAC (RFC 2132
	// section 9.14), so the server keys the lease as most clients do.
	opt(layers.DHCPOptClientID, append([]byte{byte(layers.LinkTypeEthernet)}, mac[:]...))
	if m.requested.IsValid() {
		opt(layers.DHCPOptRequestIP, m.requested.AsSlice())
	}
	if m.server.IsValid() {
		opt(layers.DHCPOptServerID, m.server.AsSlice())
	}
	opt(layers.DHCPOptParamsRequest, requested)
	if hostname != "" && len(hostname) <= math.MaxUint8 {
		opt(layers.DHCPOptHostname, []byte(hostname))
	}
	for n := int(d.Len()); n < minMessageLen; n++ {
		opt(layers.DHCPOptPad, nil)
	}
	buf := gopacket.NewSerializeBuffer()
	// SerializeTo fails only when the buffer cannot grow, which a fresh
	// one always can.
	if err := d.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil {
		panic(fmt.Sprintf("dhcpclient: encode %s: %v", m.typ, err))
	}
	return buf.Bytes()
}

// reply is a server's message, checked and copied out of the receive
// buffer.
type reply struct {
	typ layers.DHCPMsgType
	xid uint32
	mac [6]byte
	// lease is what an OFFER or ACK grants (its Server may be invalid
	// for an ACK without a Server Identifier).
	lease Lease
	// server is the Server Identifier, invalid if there was none.
	server netip.Addr
	// message is the server's text (option 56), e.g. a NAK's reason.
	message string
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
	var d layers.DHCPv4
	if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		return reply{}, malformed("%v", err)
	}
	if d.Operation != layers.DHCPOpReply {
		return reply{}, malformed("op %d, not BOOTREPLY", d.Operation)
	}
	if d.HardwareType != layers.LinkTypeEthernet || d.HardwareLen != 6 {
		return reply{}, malformed("hardware type %d length %d, not Ethernet", d.HardwareType, d.HardwareLen)
	}
	opts := collect(d.Options)
	r := reply{xid: d.Xid}
	copy(r.mac[:], d.ClientHWAddr)
	mt, ok := opts[layers.DHCPOptMessageType]
	if !ok || len(mt) != 1 {
		return reply{}, malformed("no DHCP message type (a BOOTP reply?)")
	}
	r.typ = layers.DHCPMsgType(mt[0])
	var err error
	if r.server, err = optAddr(opts, layers.DHCPOptServerID); err != nil {
		return reply{}, err
	}
	r.message = string(opts[layers.DHCPOptMessage])
	if r.typ != layers.DHCPMsgTypeOffer && r.typ != layers.DHCPMsgTypeAck {
		return r, nil
	}
	yiaddr, _ := netip.AddrFromSlice(d.YourClientIP.To4())
	if r.lease, err = parseLease(yiaddr, opts); err != nil {
		return reply{}, err
	}
	r.lease.Server = r.server
	if r.typ == layers.DHCPMsgTypeOffer && !r.server.IsValid() {
		return reply{}, malformed("OFFER without a server identifier")
	}
	return r, nil
}

// collect gathers the options by code, concatenating the parts of an
// option split over several instances (RFC 3396).
func collect(options layers.DHCPOptions) map[layers.DHCPOpt][]byte {
	m := make(map[layers.DHCPOpt][]byte, len(options))
	for _, o := range options {
		if o.Type == layers.DHCPOptPad || o.Type == layers.DHCPOptEnd {
			continue
		}
		m[o.Type] = append(m[o.Type], o.Data...)
	}
	return m
}

// parseLease reads the lease an OFFER or ACK grants to addr.
func parseLease(addr netip.Addr, opts map[layers.DHCPOpt][]byte) (Lease, error) {
	if !addr.IsValid() || !usable(addr) {
		return Lease{}, malformed("offered address %v is not a unicast host address", addr)
	}
	bits := classfulBits(addr) // RFC 1122 section 3.3.1.1 without a mask
	if m, ok := opts[layers.DHCPOptSubnetMask]; ok {
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
	if bits <= 30 && (addr == prefix.Masked().Addr() || addr == broadcast(prefix)) {
		return Lease{}, malformed("offered address %v is not a host of %v", addr, prefix.Masked())
	}
	l := Lease{Addr: prefix}
	secs, ok, err := optUint32(opts, layers.DHCPOptLeaseTime)
	switch {
	case err != nil:
		return Lease{}, err
	case !ok:
		return Lease{}, malformed("no lease time")
	case secs == 0:
		return Lease{}, malformed("lease time 0")
	}
	l.Duration, l.T1, l.T2 = timesOf(secs, opts)
	routers, err := optAddrs(opts, layers.DHCPOptRouter)
	if err != nil {
		return Lease{}, err
	}
	for _, r := range routers {
		if r != addr && usable(r) {
			l.Gateway = r
			break
		}
	}
	dns, err := optAddrs(opts, layers.DHCPOptDNS)
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

// timesOf works out the lease duration, T1 and T2 from the lease time in
// seconds and the options. The server's T1 and T2 are taken when they fall
// in order inside the lease (0 < T1 < T2 < lease); otherwise RFC 2131
// section 4.4.5's defaults, half and seven eighths of the lease.
func timesOf(secs uint32, opts map[layers.DHCPOpt][]byte) (lease, t1, t2 time.Duration) {
	if secs == infiniteLeaseTime {
		return Infinite, Infinite, Infinite
	}
	lease = time.Duration(secs) * time.Second
	t1, t2 = lease/2, lease*7/8
	s1, ok1, err1 := optUint32(opts, layers.DHCPOptT1)
	s2, ok2, err2 := optUint32(opts, layers.DHCPOptT2)
	if ok1 && ok2 && err1 == nil && err2 == nil && 0 < s1 && s1 < s2 && s2 < secs {
		t1, t2 = time.Duration(s1)*time.Second, time.Duration(s2)*time.Second
	}
	return lease, t1, t2
}

// optUint32 reads a 32-bit option; ok is false if it is absent.
func optUint32(opts map[layers.DHCPOpt][]byte, code layers.DHCPOpt) (v uint32, ok bool, err error) {
	b, ok := opts[code]
	if !ok {
		return 0, false, nil
	}
	if len(b) != 4 {
		return 0, false, malformed("option %s of %d bytes, want 4", code, len(b))
	}
	return binary.BigEndian.Uint32(b), true, nil
}

// optAddr reads a one-address option; the result is invalid if it is absent.
func optAddr(opts map[layers.DHCPOpt][]byte, code layers.DHCPOpt) (netip.Addr, error) {
	b, ok := opts[code]
	if !ok {
		return netip.Addr{}, nil
	}
	a, ok := netip.AddrFromSlice(b)
	if !ok || !a.Is4() {
		return netip.Addr{}, malformed("option %s of %d bytes, want 4", code, len(b))
	}
	return a, nil
}

// optAddrs reads a list-of-addresses option (absent: none).
func optAddrs(opts map[layers.DHCPOpt][]byte, code layers.DHCPOpt) ([]netip.Addr, error) {
	b, ok := opts[code]
	if !ok {
		return nil, nil
	}
	if len(b) == 0 || len(b)%4 != 0 {
		return nil, malformed("option %s of %d bytes, want a multiple of 4", code, len(b))
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

// broadcast is the last address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(b[:]) | (uint32(1)<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}
