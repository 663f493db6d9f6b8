// Package bootopt parses a tamanet unikernel's boot options: the kernel
// command line QEMU passes with -append, as space-separated key=value words.
//
//	napi=napi|interrupt|busypoll   how the e1000 is serviced (default napi)
//	budget=N                       packets per NAPI poll round, 1-4096 (default 64)
//	mitigation=on|off              the e1000's interrupt moderation timers (ITR,
//	                               RDTR, RADV, TIDV, TADV; default on); off raises
//	                               every interrupt at once, so the modes can be
//	                               compared without the hardware throttle
//	offload=on|off                 TSO, TX checksum insertion, GRO and pure-ACK
//	                               coalescing (default on)
//	rng=insecure                   boot on a CPU without RDRAND and with no
//	                               virtio-rng device, drawing TCP sequence
//	                               numbers from a predictable generator
//	ip=ADDR/PREFIX|dhcp            static IPv4 address (default 10.0.2.15/24,
//	                               QEMU user networking's), or a DHCP lease:
//	                               address, gateway and name server from a
//	                               server, renewed while the unikernel runs
//	dhcpwait=SECONDS               with ip=dhcp, how long the boot waits for
//	                               the first lease, 1-3600 (default 30)
//	gw=ADDR                        IPv4 default gateway, inside ip= (default 10.0.2.2;
//	                               with ip=dhcp, the lease's)
//	dns=ADDR                       name server, written to /etc/resolv.conf for Go's
//	                               resolver (IPv4 or IPv6; instead of the lease's
//	                               with ip=dhcp)
//	ca=CERT[,CERT...]              CA certificates crypto/x509 trusts besides
//	                               Mozilla's roots: DER in base64 (standard or URL
//	                               alphabet), each a CA (the command line holds
//	                               4096 bytes: a few ECDSA CAs)
//	ntp=ADDR[:PORT]                SNTP server (port 123 by default; [ADDR]:PORT
//	                               for IPv6): the wall clock, set from the CMOS
//	                               RTC at boot, is stepped to its time once the
//	                               network is up and every 1024 s after (sooner
//	                               after a failure or a slow round trip)
//	mac=XX:XX:XX:XX:XX:XX          station address instead of the EEPROM's
//	ip6=ADDR/PREFIX                static IPv6 address, besides the link-local
//	                               one and those SLAAC configures
//	gw6=ADDR                       IPv6 default router (default: from router
//	                               advertisements)
//	gogc=N|off                     the garbage collector's pace, as GOGC: collect
//	                               when the heap has grown N% over the live heap,
//	                               1-10000; default off: collect only near the
//	                               memory limit, half the runtime's RAM
//	testroutes=on|off              the QEMU tests' stand-ins for a buggy
//	                               application handler (default off):
//	                               GET /test/nilderef dereferences nil,
//	                               GET /test/spin?ms=N computes for N ms
//	mtu=N                          the largest IP packet, 1280-16274 (default 1500;
//	                               1280 is IPv6's minimum, and IPv6 is always on);
//	                               above 1500 the e1000 takes jumbo frames
//	tick=on|off                    the runtime's timer tick (default on); off
//	                               means no preemption of a goroutine that keeps
//	                               the CPU and no CPU profiles, to measure what
//	                               the tick costs
//	admin=PORT                     open the admin listener on PORT (default: none):
//	                               profiles, packet capture, latency trace,
//	                               forced GC and boot phases under /debug/,
//	                               which no other port serves
//	adminallow=PREFIX[,PREFIX...]  who may connect to it (default 10.0.2.2/32,
//	                               the host under QEMU user networking and
//	                               qemu.sh's tap); others are closed and counted
//	pktgen=tx|tso|sink             run the NIC below the stack as a packet
//	                               generator or a receive sink instead of
//	                               serving (default: off; package tamanet/pktgen):
//	                               tx sends UDP frames from ip= to gw=, tso TCP
//	                               super-frames for the device to segment; sink
//	                               counts what arrives until an end marker
//	pktgen_size=N                  tx: the frame's length without FCS, 60 to
//	                               MTU+14 (default 1514); tso: each super-frame's
//	                               TCP payload, up to the driver's largest TSO
//	                               frame (default 65000: 45 segments, the last short)
//	pktgen_seconds=N               tx, tso: how long to transmit, 1-600 (default 5)
//	pktgen_dst=XX:XX:XX:XX:XX:XX   tx, tso: the frames' Ethernet destination
//	                               (default broadcast)
//
// Unknown keys and bad values are errors, so a mistyped option is reported
// at boot instead of silently running the default.
package bootopt

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"tamanet/e1000"
	"tamanet/inet"
	"tamanet/napi"
	"tamanet/pktgen"
	"tamanet/unikernel/tlsroots"
)

// MaxBudget bounds budget=N: more than a receive ring of packets per round
// buys nothing.
const MaxBudget = 4096

// Options are the parsed boot options.
type Options struct {
	// Mode is the NAPI mode (napi=).
	Mode napi.Mode
	// Budget is the packets per poll round (budget=); 0 means napi's
	// default.
	Budget int
	// NoMitigation turns the interrupt moderation timers off
	// (mitigation=off).
	NoMitigation bool
	// NoOffload is offload=off: the device's offloads and GRO unused.
	NoOffload bool
	// NoTick is tick=off: the runtime's timer tick stopped.
	NoTick bool
	// InsecureRNG accepts a predictable random generator when there is no
	// real entropy source (rng=insecure).
	InsecureRNG bool
	// Addr and Gateway are the static IPv4 configuration (ip=, gw=);
	// invalid means the default.
	Addr    netip.Prefix
	Gateway netip.Addr
	// DHCP asks for the IPv4 configuration from a DHCP server (ip=dhcp);
	// DHCPWait bounds the wait for the first lease (dhcpwait=; 0 means
	// DefaultDHCPWait).
	DHCP     bool
	DHCPWait time.Duration
	// DNS is the name server (dns=); invalid if none was given.
	DNS netip.Addr
	// CAs are the extra trusted CAs (ca=).
	CAs []*x509.Certificate
	// NTP is the SNTP server (ntp=); invalid if none was given.
	NTP netip.AddrPort
	// MAC is the station address (mac=); all zero keeps the device's.
	MAC [6]byte
	// Addr6 and Gateway6 are the static IPv6 configuration (ip6=, gw6=).
	Addr6    netip.Prefix
	Gateway6 netip.Addr
	// GOGC is gogc=N: the GC percentage (debug.SetGCPercent); 0 means
	// off, the default, leaving collections to the memory limit.
	GOGC int
	// TestRoutes adds the routes the QEMU tests provoke a fault and a
	// long computation with (testroutes=on).
	TestRoutes bool
	// MTU is the largest IP packet (mtu=); 0 means the e1000's default.
	MTU int
	// Admin is the admin listener's port (admin=); 0 means none.
	// AdminAllow are the prefixes it accepts connections from
	// (adminallow=, else DefaultAdminAllow).
	Admin      uint16
	AdminAllow []netip.Prefix
	// Pktgen is pktgen=: the NIC run as a packet generator or sink
	// instead of serving (pktgen.ModeOff, the zero value, serves).
	// PktgenSize is pktgen_size= (0: the mode's default), PktgenDuration
	// pktgen_seconds= (DefaultPktgenDuration for tx and tso), PktgenDst
	// pktgen_dst= (all zero: broadcast).
	Pktgen         pktgen.Mode
	PktgenSize     int
	PktgenDuration time.Duration
	PktgenDst      [6]byte
}

// DefaultPktgenDuration is how long pktgen=tx or tso transmits without
// pktgen_seconds=, and MaxPktgenDuration the longest it allows.
const (
	DefaultPktgenDuration = 5 * time.Second
	MaxPktgenDuration     = 600 * time.Second
)

// MaxGOGC bounds gogc=N.
const MaxGOGC = 10000

// DefaultDHCPWait is how long the boot waits for the first DHCP lease
// without dhcpwait=, and MaxDHCPWait the longest dhcpwait= allows.
const (
	DefaultDHCPWait = 30 * time.Second
	MaxDHCPWait     = time.Hour
)

// Parse parses a command line. An empty line gives the zero Options.
func Parse(cmdline string) (Options, error) {
	var o Options
	seen := map[string]bool{}
	for _, word := range strings.Fields(cmdline) {
		key, val, ok := strings.Cut(word, "=")
		if !ok || val == "" {
			return Options{}, fmt.Errorf("boot option %q: want key=value", word)
		}
		if seen[key] {
			return Options{}, fmt.Errorf("boot option %s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "napi":
			o.Mode, err = ParseMode(val)
		case "budget":
			o.Budget, err = parseBudget(val)
		case "mitigation":
			o.NoMitigation, err = parseOff(val)
		case "offload":
			o.NoOffload, err = parseOff(val)
		case "rng":
			if o.InsecureRNG = val == "insecure"; !o.InsecureRNG {
				err = fmt.Errorf("want insecure (the only choice to make: real sources are used when present)")
			}
		case "ip":
			if o.DHCP = val == "dhcp"; !o.DHCP {
				o.Addr, err = parsePrefix(val, true)
			}
		case "dhcpwait":
			o.DHCPWait, err = parseSeconds(val, MaxDHCPWait)
		case "gw":
			o.Gateway, err = parseAddr(val, true)
		case "dns":
			if o.DNS, err = netip.ParseAddr(val); err != nil {
				err = fmt.Errorf("want an address")
			}
		case "ca":
			o.CAs, err = tlsroots.ParseCAs(val)
		case "ntp":
			o.NTP, err = parseNTP(val)
		case "mac":
			o.MAC, err = parseMAC(val)
		case "ip6":
			o.Addr6, err = parsePrefix(val, false)
		case "gw6":
			o.Gateway6, err = parseAddr(val, false)
		case "gogc":
			o.GOGC, err = parseGOGC(val)
		case "testroutes":
			var off bool
			off, err = parseOff(val)
			o.TestRoutes = !off
		case "mtu":
			o.MTU, err = parseMTU(val)
		case "tick":
			o.NoTick, err = parseOff(val)
		case "admin":
			o.Admin, err = parsePort(val)
		case "adminallow":
			o.AdminAllow, err = parsePrefixes(val)
		case "pktgen":
			o.Pktgen, err = pktgen.ParseMode(val)
		case "pktgen_size":
			if o.PktgenSize, err = strconv.Atoi(val); err != nil || o.PktgenSize < 1 {
				err = fmt.Errorf("want a number of bytes")
			}
		case "pktgen_seconds":
			o.PktgenDuration, err = parseSeconds(val, MaxPktgenDuration)
		case "pktgen_dst":
			o.PktgenDst, err = parseMAC(val)
		default:
			err = fmt.Errorf("unknown key (known: napi, budget, mitigation, offload, mtu, tick, rng, ip, dhcpwait, gw, dns, ca, ntp, mac, ip6, gw6, gogc, testroutes, admin, adminallow, pktgen, pktgen_size, pktgen_seconds, pktgen_dst)")
		}
		if err != nil {
			return Options{}, fmt.Errorf("boot option %s: %w", shorten(word), err)
		}
	}
	switch {
	case o.DHCP && o.Gateway.IsValid():
		return Options{}, fmt.Errorf("boot option gw=%v: the DHCP lease names the gateway (ip=dhcp)", o.Gateway)
	case o.DHCPWait != 0 && !o.DHCP:
		return Options{}, fmt.Errorf("boot option dhcpwait=: only with ip=dhcp")
	case o.DHCP && o.DHCPWait == 0:
		o.DHCPWait = DefaultDHCPWait
	case o.AdminAllow != nil && o.Admin == 0:
		return Options{}, fmt.Errorf("boot option adminallow=: only with admin=PORT")
	case o.Admin != 0 && o.AdminAllow == nil:
		o.AdminAllow = DefaultAdminAllow
	}
	if err := checkPktgen(&o, seen); err != nil {
		return Options{}, err
	}
	// The gateway must be on the subnet, the given one or the default.
	if o.Gateway.IsValid() {
		subnet := o.Addr
		if !subnet.IsValid() {
			subnet = DefaultAddr
		}
		if !subnet.Masked().Contains(o.Gateway) {
			return Options{}, fmt.Errorf("boot option gw=%v: outside %v (ip=)", o.Gateway, subnet)
		}
	}
	return o, nil
}

// shorten keeps an error's quote of a long word (ca='s certificates) to
// its start.
func shorten(word string) string {
	const keep = 40
	if len(word) <= keep {
		return word
	}
	return fmt.Sprintf("%s... (%d bytes)", word[:keep], len(word))
}

// DefaultAddr is the IPv4 address without ip=: QEMU user networking's
// guest address.
var DefaultAddr = netip.MustParsePrefix("10.0.2.15/24")

// parsePrefix parses ADDR/PREFIX of one family: a host address (not the
// network's or, for IPv4, the broadcast address) with a prefix that leaves
// room for hosts.
func parsePrefix(s string, v4 bool) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("want ADDR/PREFIX")
	}
	a := p.Addr()
	maxBits := 128 // a host route is fine in IPv6
	if v4 {
		maxBits = 30 // room for a network and a broadcast address
	}
	switch {
	case v4 && !a.Is4(), !v4 && (!a.Is6() || a.Is4In6()):
		return netip.Prefix{}, fmt.Errorf("wrong address family")
	case p.Bits() < 1 || p.Bits() > maxBits:
		return netip.Prefix{}, fmt.Errorf("prefix /%d out of [1, %d]", p.Bits(), maxBits)
	case !a.IsGlobalUnicast() && !a.IsPrivate():
		return netip.Prefix{}, fmt.Errorf("%v is not a unicast host address", a)
	case a == p.Masked().Addr() && p.Bits() < a.BitLen():
		return netip.Prefix{}, fmt.Errorf("%v is the network address of %v", a, p.Masked())
	case v4 && a == inet.Broadcast(p):
		return netip.Prefix{}, fmt.Errorf("%v is the broadcast address of %v", a, p.Masked())
	}
	return p, nil
}

// parseAddr parses a gateway address of one family (an IPv6 router may be
// link-local).
func parseAddr(s string, v4 bool) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return netip.Addr{}, fmt.Errorf("want an address")
	case v4 && !a.Is4(), !v4 && (!a.Is6() || a.Is4In6()):
		return netip.Addr{}, fmt.Errorf("wrong address family")
	case !a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLinkLocalUnicast():
		return netip.Addr{}, fmt.Errorf("%v is not a unicast address", a)
	}
	return a, nil
}

// parseMAC parses a unicast, non-zero Ethernet address.
func parseMAC(s string) ([6]byte, error) {
	var m [6]byte
	hw, err := net.ParseMAC(s)
	switch {
	case err != nil || len(hw) != 6:
		return m, fmt.Errorf("want six hex bytes, XX:XX:XX:XX:XX:XX")
	case hw[0]&1 != 0:
		return m, fmt.Errorf("a multicast address")
	}
	copy(m[:], hw)
	if m == ([6]byte{}) {
		return m, fmt.Errorf("the zero address")
	}
	return m, nil
}

// ParseMode parses a NAPI mode name as napi.Mode.String prints it.
func ParseMode(s string) (napi.Mode, error) {
	for _, m := range []napi.Mode{napi.ModeNAPI, napi.ModeInterrupt, napi.ModeBusyPoll} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q (want napi, interrupt or busypoll)", s)
}

func parseBudget(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxBudget {
		return 0, fmt.Errorf("want a packet count in [1, %d]", MaxBudget)
	}
	return n, nil
}

// parseGOGC parses a GC percentage or off (0).
func parseGOGC(s string) (int, error) {
	if s == "off" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxGOGC {
		return 0, fmt.Errorf("want a percentage in [1, %d] or off", MaxGOGC)
	}
	return n, nil
}

// parseSeconds parses a whole number of seconds in [1, limit]. The bound
// is checked on the number itself: converted first, a count past 2^63
// nanoseconds would wrap to a negative Duration and pass.
func parseSeconds(s string, limit time.Duration) (time.Duration, error) {
	maxSecs := int64(limit / time.Second)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > maxSecs {
		return 0, fmt.Errorf("want seconds in [1, %d]", maxSecs)
	}
	return time.Duration(n) * time.Second, nil
}

// parseOff parses on|off and reports whether it is off.
func parseOff(s string) (bool, error) {
	switch s {
	case "on":
		return false, nil
	case "off":
		return true, nil
	}
	return false, fmt.Errorf("want on or off")
}

// MinIPv6MTU is the smallest MTU of a link that carries IPv6 (RFC 8200
// section 5). The NIC always has IPv6 (its link-local address at least), so
// mtu= may not go below it.
const MinIPv6MTU = 1280

// parseMTU parses mtu=N within what the e1000 and IPv6 allow.
func parseMTU(s string) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("want a number of bytes")
	case n < e1000.MinMTU:
		return 0, fmt.Errorf("below IPv4's minimum MTU, %d", e1000.MinMTU)
	case n < MinIPv6MTU:
		return 0, fmt.Errorf("below IPv6's minimum MTU, %d (IPv6 is always on)", MinIPv6MTU)
	case n > e1000.MaxMTU:
		return 0, fmt.Errorf("beyond the 82540EM's largest MTU, %d (a 16288-byte transmit packet)", e1000.MaxMTU)
	}
	return n, nil
}

// checkPktgen checks the pktgen_ options against pktgen= and mtu=, and
// fills in the transmit duration's default. The driver checks the size
// again against what it takes (its MTU, its largest TSO frame).
func checkPktgen(o *Options, seen map[string]bool) error {
	tx := o.Pktgen == pktgen.ModeTx || o.Pktgen == pktgen.ModeTSO
	for _, key := range []string{"pktgen_size", "pktgen_seconds", "pktgen_dst"} {
		if seen[key] && !tx {
			return fmt.Errorf("boot option %s=: only with pktgen=tx or pktgen=tso", key)
		}
	}
	if tx && o.PktgenDuration == 0 {
		o.PktgenDuration = DefaultPktgenDuration
	}
	mtu := o.MTU
	if mtu == 0 {
		mtu = e1000.MTU
	}
	switch {
	case o.PktgenSize == 0:
	case o.Pktgen == pktgen.ModeTx && (o.PktgenSize < pktgen.MinFrameSize || o.PktgenSize > mtu+14):
		return fmt.Errorf("boot option pktgen_size=%d: a frame of %d to %d bytes (MTU %d plus the Ethernet header)",
			o.PktgenSize, pktgen.MinFrameSize, mtu+14, mtu)
	case o.Pktgen == pktgen.ModeTSO && o.PktgenSize > pktgen.MaxTSOPayload:
		return fmt.Errorf("boot option pktgen_size=%d: a TCP payload of 1 to %d bytes (one IPv4 packet)", o.PktgenSize, pktgen.MaxTSOPayload)
	}
	return nil
}
