package netif

import (
	"net/netip"
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
// routes; new addresses open the driver's multicast filter to their
// solicited-node group and are reported through Config.OnAddress. gVisor
// calls it from its packet path, with its own locks held, so the work is
// done on the stack's NDP goroutine (run).
type ndpDispatcher struct {
	st   *Stack // set once the stack exists, before the NIC is enabled
	work chan func()
	// routers counts routes through routers learnt, prefixes on-link
	// prefixes, addresses SLAAC addresses; lost counts events dropped
	// because the queue was full, filterErrors addresses whose
	// multicast group the driver's filter refused.
	routers, prefixes, addresses, lost, filterErrors atomic.Uint64
}

func newNDPDispatcher() *ndpDispatcher { return &ndpDispatcher{work: make(chan func(), 64)} }

// later queues f for run.
func (d *ndpDispatcher) later(f func()) {
	select {
	case d.work <- f:
	default:
		d.lost.Add(1)
	}
}

// run does the queued work until done is closed.
func (d *ndpDispatcher) run(done <-chan struct{}) {
	for {
		select {
		case f := <-d.work:
			f()
		case <-done:
			return
		}
	}
}

var _ ipv6.NDPDispatcher = (*ndpDispatcher)(nil)

// OnDuplicateAddressDetectionResult implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnDuplicateAddressDetectionResult(tcpip.NICID, tcpip.Address, stack.DADResult) {
}

// OnOffLinkRouteUpdated implements ipv6.NDPDispatcher: a router (default
// or for a more specific prefix) becomes a route through it.
func (d *ndpDispatcher) OnOffLinkRouteUpdated(nic tcpip.NICID, dest tcpip.Subnet, router tcpip.Address, _ header.NDPRoutePreference) {
	d.later(func() {
		d.st.replaceRoute(tcpip.Route{Destination: dest, Gateway: router, NIC: nic})
		d.routers.Add(1)
	})
}

// OnOffLinkRouteInvalidated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOffLinkRouteInvalidated(nic tcpip.NICID, dest tcpip.Subnet, router tcpip.Address) {
	d.later(func() { d.st.removeRoute(tcpip.Route{Destination: dest, Gateway: router, NIC: nic}) })
}

// OnOnLinkPrefixDiscovered implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOnLinkPrefixDiscovered(nic tcpip.NICID, prefix tcpip.Subnet) {
	d.later(func() {
		d.st.replaceRoute(tcpip.Route{Destination: prefix, NIC: nic})
		d.prefixes.Add(1)
	})
}

// OnOnLinkPrefixInvalidated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOnLinkPrefixInvalidated(nic tcpip.NICID, prefix tcpip.Subnet) {
	d.later(func() { d.st.removeRoute(tcpip.Route{Destination: prefix, NIC: nic}) })
}

// OnAutoGenAddress implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnAutoGenAddress(_ tcpip.NICID, addr tcpip.AddressWithPrefix) stack.AddressDispatcher {
	d.later(func() {
		d.addresses.Add(1)
		// Its solicited-node group: the same as the link-local
		// address's for an EUI-64 address, not for every identifier.
		if joinSolicitedNode(d.st.ep.d, addr.Address) != nil {
			d.filterErrors.Add(1)
		}
		if d.st.onAddress != nil {
			d.st.onAddress(netip.PrefixFrom(netip.AddrFrom16(addr.Address.As16()), addr.PrefixLen))
		}
	})
	return nil
}

// OnAutoGenAddressDeprecated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnAutoGenAddressDeprecated(tcpip.NICID, tcpip.AddressWithPrefix) {}

// OnAutoGenAddressInvalidated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnAutoGenAddressInvalidated(tcpip.NICID, tcpip.AddressWithPrefix) {}

// OnRecursiveDNSServerOption implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnRecursiveDNSServerOption(tcpip.NICID, []tcpip.Address, time.Duration) {}

// OnDNSSearchListOption implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnDNSSearchListOption(tcpip.NICID, []string, time.Duration) {}

// OnDHCPv6Configuration implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnDHCPv6Configuration(tcpip.NICID, ipv6.DHCPv6ConfigurationFromNDPRA) {}
