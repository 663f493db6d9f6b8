//go:build tamago

package unikernel

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"tamanet/board"
	"tamanet/dhcpclient"
	"tamanet/expose"
	"tamanet/kernel"
	"tamanet/lattrace"
	"tamanet/napi"
	"tamanet/netstack"
	"tamanet/netstack/stdnet"
	"tamanet/pci"
	"tamanet/pktgen"
	"tamanet/sntp"
	"tamanet/unikernel/admin"
	"tamanet/unikernel/bootopt"
	"tamanet/unikernel/entropy"
	"tamanet/unikernel/gcpolicy"
	"tamanet/unikernel/resolvconf"
	"tamanet/unikernel/tlsroots"
)

// watchdogPeriod is how often the driver's housekeeping runs (statistics
// registers, lost completions, transmit hangs).
const watchdogPeriod = time.Second

// System is a running unikernel: its NIC serviced, its network stack up.
type System struct {
	// Name is the application's name, used on the console and as the
	// namespace of its metrics.
	Name string
	// Options are the boot options it was started with.
	Options bootopt.Options
	// Stack is the gVisor network stack on the NIC.
	Stack *netstack.Stack
	// Sockets are package net's TCP and UDP sockets on Stack
	// (net.Listen, net.Dial and everything built on them).
	Sockets *stdnet.Stack

	nic     *nic
	boot    *bootLog
	entropy *entropy.Policy
	gcPace  gcpolicy.Pace
	dhcp    *dhcpclient.Client // nil without ip=dhcp
	ntp     *sntp.Client       // nil without ntp=
	admin   *admin.Listener    // nil without admin=
	names   *nameFiles
	// tlsRoots counts the roots crypto/x509 verifies with (zero if the
	// program installed its own).
	tlsRoots tlsroots.Stats
}

// Start parses the boot options and brings the system up. It returns an
// error naming what is wrong (a boot option, the missing e1000, ...);
// nothing it started needs stopping then, the program is meant to exit.
func Start(name string) (*System, error) {
	// SeaBIOS leaves the cursor mid-line.
	fmt.Println()
	boot := newBootLog()
	boot.mark(phaseMain)
	opts, err := bootopt.Parse(board.CommandLine())
	if err != nil {
		return nil, err
	}
	// The NIC comes first: QEMU's e1000 receives nothing until a second
	// after receive is enabled, so everything done before that write adds
	// to the time to the first answer, and everything after it until the
	// second is up is free.
	cfg := nicConfig{
		napi:         napi.Config{Mode: opts.Mode, Budget: opts.Budget},
		mtu:          opts.MTU,
		noMitigation: opts.NoMitigation,
		noOffload:    opts.NoOffload,
		boot:         boot,
	}
	pace := gcpolicy.Set(opts.GOGC)
	var reg pci.Registry
	ent := &entropy.Policy{}
	n, err := bringUpNIC(cfg, &reg, ent)
	if err != nil {
		return nil, err
	}
	if n.dev.LinkUp() {
		boot.mark(phaseLinkUp)
	}
	if opts.MAC != ([6]byte{}) {
		if err := n.dev.SetMAC(opts.MAC); err != nil {
			return nil, fmt.Errorf("boot option mac=: %w", err)
		}
		fmt.Printf("tamanet: MAC %x (mac=)\n", opts.MAC[:])
	}
	go boot.printLate()
	if err := kernel.Init(); err != nil {
		return nil, err
	}
	printWallClock()
	if opts.NoTick {
		kernel.StopTick()
		fmt.Println("tamanet: timer tick off (tick=off): no preemption, no CPU profiles")
	}
	boot.mark(phaseIRQ)
	boot.flush()
	if opts.Pktgen != pktgen.ModeOff {
		return nil, runPktgen(n, opts, boot)
	}
	// Before the stack, which draws its TCP secrets from crypto/rand.
	if err := ent.Choose(opts.InsecureRNG); err != nil {
		return nil, err
	}
	names := newNameFiles(name, opts.DNS, func(line string) { fmt.Printf("%s: %s\n", name, line) })
	// The stack attaches to the driver before the interrupt is hooked, so
	// the link change latched by reset reaches it.
	st, err := netstack.NewStack(n.watchLink(), netstack.Config{
		NoOffload: opts.NoOffload,
		Addr:      opts.Addr, Gateway: opts.Gateway, NoAddr4: opts.DHCP,
		Addr6: opts.Addr6, Gateway6: opts.Gateway6,
		OnAddress: func(p netip.Prefix) {
			fmt.Printf("tamanet: address %v (SLAAC)\n", p)
			names.update() // its own name in /etc/hosts
		},
		OnDNS6: names.setDNS6,
	})
	if err != nil {
		return nil, err
	}
	boot.mark(phaseStack)
	if n.irq, err = n.hookIRQ(); err != nil {
		return nil, err
	}
	go n.dev.NAPI().Run(context.Background())
	go n.watchdog(watchdogPeriod)
	go n.logLink(boot)
	// os.Hostname reads it, as on Linux.
	if err := resolvconf.WriteFile("/etc/hostname", []byte(name+"\n")); err != nil {
		return nil, err
	}
	sockets := stdnet.New(st.Netstack(), netstack.NICID)
	stdnet.Install(sockets)
	sys := &System{Name: name, Options: opts, Stack: st, Sockets: sockets, nic: n, boot: boot, entropy: ent, gcPace: pace, names: names}
	if err := sys.installTLSRoots(); err != nil {
		return nil, err
	}
	if opts.DHCP {
		if err := sys.startDHCP(); err != nil {
			return nil, err
		}
	}
	// With the lease, if any: the files' first version has its servers.
	names.start(st.Addrs)
	sys.startNTP()
	if err := sys.startAdmin(); err != nil {
		return nil, err
	}
	return sys, nil
}

// MustStart is Start, exiting through Exit if it fails.
func MustStart(name string) *System {
	s, err := Start(name)
	if err != nil {
		exit(name, err)
	}
	return s
}

// Exit prints err on the console and stops the machine with a failure
// status. An application calls it when it cannot go on.
func Exit(err error) {
	exit("tamanet", err)
}

func exit(name string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	board.Exit(1)
}

// ListenTCP is net.Listen("tcp", ":port"): every address, IPv4 and IPv6.
// Its connections' reads that return data are latency trace events.
func (s *System) ListenTCP(port uint16) (net.Listener, error) {
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return nil, err
	}
	return lattrace.Listener(l), nil
}

// ListenUDP is net.ListenPacket("udp", ":port").
func (s *System) ListenUDP(port uint16) (net.PacketConn, error) {
	return net.ListenPacket("udp", fmt.Sprintf(":%d", port))
}

// Handler serves app on every path the system does not take: GET /stats
// (JSON of every layer), GET /metrics (Prometheus) and ServiceRoutes.
func (s *System) Handler(app http.Handler) http.Handler {
	mux := http.NewServeMux()
	for pattern, h := range s.statsRoutes() {
		mux.Handle(pattern, h)
	}
	for pattern, h := range s.ServiceRoutes() {
		mux.Handle(pattern, h)
	}
	mux.Handle("/", app)
	return mux
}

// statsRoutes are GET /stats (JSON of every layer) and GET /metrics
// (Prometheus), on the application's port (Handler) and the admin
// listener, which is where a program that serves its own handler (package
// auto) has them.
func (s *System) statsRoutes() map[string]http.Handler {
	stats := func() any { return s.Stats() }
	return map[string]http.Handler{
		"GET /stats":   expose.JSONHandler(stats),
		"GET /metrics": expose.MetricsHandler(expose.Source{Namespace: "tamanet", Path: "", Snapshot: stats}),
	}
}

// HTTPServer returns an http.Server for Handler(app) with timeouts that
// keep a client that never finishes its headers from pinning a connection.
func (s *System) HTTPServer(app http.Handler) *http.Server {
	return &http.Server{Handler: s.Handler(app), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 5 * time.Minute}
}

// Ready prints the READY line once the application's listeners are bound:
// the name and every address (IPv4, IPv6 link-local and static; SLAAC
// addresses come later, each on a line of its own), what the application
// serves (e.g. "http :80"), the DHCP lease (ip=dhcp), the NAPI mode, the
// NIC with its negotiated features and its interrupt routing, whether the NIC has received anything yet, and the
// wall clock (RFC 3339, UTC).
func (s *System) Ready(serving string) {
	s.boot.mark(phaseReady)
	fmt.Printf("READY %s %s %s%s; napi=%v budget=%d mitigation=%s offload=%s mtu=%d gogc=%s, %s, irq %s; %s; clock %s\n",
		s.Name, s.addrs(), serving, s.dhcpLease(), s.Options.Mode, s.nic.dev.NAPI().Budget(),
		onOff(!s.Options.NoMitigation), onOff(!s.Options.NoOffload), s.nic.dev.MTU(), s.gcPace,
		joinNonEmpty(" ", s.nic.kind, s.nic.features), s.nic.irq, receiving(s.boot), wallClock())
}

// addrs lists the NIC's addresses for the console: "10.0.2.15/24,fe80::.../64".
func (s *System) addrs() string {
	var b strings.Builder
	for i, p := range s.Stack.Addrs() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// receiving says whether the NIC has received anything yet, for the READY
// line: listening is not the same as reachable.
func receiving(boot *bootLog) string {
	if at, ok := boot.at(phaseFirstRx); ok {
		return fmt.Sprintf("receiving since %.1f ms", ms(at))
	}
	at, ok := boot.at(phaseRxEnabled)
	switch {
	case ok && boot.rxHold.Load():
		return fmt.Sprintf("no frame received yet (QEMU's e1000 holds them back until %.1f ms)", ms(at+rxHold))
	case ok:
		return "no frame received yet"
	}
	return "receive not enabled"
}
