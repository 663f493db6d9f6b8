package netstack

import (
	"fmt"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"tamanet/netif"
)

// groupFilter keeps the driver's multicast filter, if it has one
// (netif.MulticastFilter), open to the IPv6 groups neighbour discovery needs:
// all-nodes, and the solicited-node group of every unicast address, joined
// with the first address in it and left with the last (an EUI-64 SLAAC
// address shares the link-local address's group; other identifiers need a
// group of their own).
type groupFilter struct {
	mf netif.MulticastFilter // nil: the driver passes every multicast frame

	mu    sync.Mutex
	users map[[6]byte]int // addresses per group, by Ethernet address
}

func newGroupFilter(d netif.Driver) *groupFilter {
	mf, _ := d.(netif.MulticastFilter)
	return &groupFilter{mf: mf, users: map[[6]byte]int{}}
}

// joinAllNodes opens the filter to ff02::1, which router advertisements
// and neighbour advertisements to DAD probes are sent to.
func (g *groupFilter) joinAllNodes() error {
	return g.join(header.IPv6AllNodesMulticastAddress)
}

// joinSolicitedNode opens the filter to addr's solicited-node group, where
// neighbour solicitations for addr arrive.
func (g *groupFilter) joinSolicitedNode(addr tcpip.Address) error {
	return g.join(header.SolicitedNodeAddr(addr))
}

// leaveSolicitedNode undoes one joinSolicitedNode of addr: the filter
// closes to the group when no other address is left in it.
func (g *groupFilter) leaveSolicitedNode(addr tcpip.Address) error {
	group := header.SolicitedNodeAddr(addr)
	mac := groupMAC(group)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch n := g.users[mac]; {
	case n == 0:
		return fmt.Errorf("netstack: multicast filter for %s: not joined", group)
	case n > 1:
		g.users[mac] = n - 1
		return nil
	}
	delete(g.users, mac)
	if g.mf == nil {
		return nil
	}
	if err := g.mf.RemoveMulticast(mac); err != nil {
		return fmt.Errorf("netstack: multicast filter for %s: %w", group, err)
	}
	return nil
}

// join counts one more user of group, opening the filter for the first.
func (g *groupFilter) join(group tcpip.Address) error {
	mac := groupMAC(group)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.users[mac] == 0 && g.mf != nil {
		if err := g.mf.AddMulticast(mac); err != nil {
			return fmt.Errorf("netstack: multicast filter for %s: %w", group, err)
		}
	}
	g.users[mac]++
	return nil
}

// joined reports how many addresses use group (for tests and counters).
func (g *groupFilter) joined(group tcpip.Address) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.users[groupMAC(group)]
}

// groupMAC is the Ethernet address an IPv6 multicast group maps to.
func groupMAC(group tcpip.Address) [6]byte {
	var mac [6]byte
	copy(mac[:], header.EthernetAddressFromMulticastIPv6Address(group))
	return mac
}
