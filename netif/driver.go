// Package netif is the gVisor link endpoint over a network driver that moves
// whole Ethernet frames: transmit with the device's offloads (TSO, checksum
// insertion) or software segmentation where it has none, and the receive
// path (the checks of what a device's checksum verdict does not vouch for,
// coalescing of bulk TCP data before gVisor's packet exists, GRO, pure-ACK
// coalescing), with the counters of both. NewLink stacks it
// with Ethernet framing, GRO and a transmit queue into what a gVisor NIC
// is created on; the stack's configuration on top (addresses, routes,
// neighbour discovery) is package tamanet/netstack's.
package netif

import "tamanet/txframe"

// Driver is what netif needs from a NIC driver. The e1000 driver satisfies it
// without importing this package.
type Driver interface {
	// MTU is the largest IP payload a frame may carry (1500 for e1000).
	MTU() int
	// MAC is the station address currently programmed into the device.
	MAC() [6]byte
	// LinkUp reports the carrier as last seen by the driver.
	LinkUp() bool
	// Transmit copies up to len(frames) frames (no FCS), each given in
	// parts and possibly asking for offloads within TxCapabilities, into
	// the transmit ring and tells the device once for the whole batch. It
	// returns how many it consumed: queued, or dropped and counted by the
	// driver; fewer than len(frames) means the ring is full and txReady
	// will be called when space frees up.
	Transmit(frames []txframe.Frame) int
	// TxCapabilities reports the transmit offloads the device performs;
	// the zero value means none.
	TxCapabilities() txframe.Capabilities
	// Attach registers the upcalls. rx is called from the poll loop for each
	// received frame; frame is only valid during the call and csumOK reports
	// that the device verified the IPv4 header and TCP/UDP checksums. link
	// is called on carrier changes, txReady after a full ring drains.
	Attach(rx func(frame []byte, csumOK bool), link func(up bool), txReady func())
}

// RxBatcher is implemented by drivers that deliver received frames in
// batches, one per poll. netif coalesces TCP segments (GRO) only within a
// batch and delivers what it holds when the batch ends, so nothing waits
// for a later poll.
type RxBatcher interface {
	// OnRxBatchEnd registers f, called on the rx upcall's goroutine after
	// the last frame of every batch that delivered at least one.
	OnRxBatchEnd(f func())
}

// MulticastFilter is implemented by drivers whose receive filter passes
// multicast frames only for groups it was given (the e1000's MTA). The
// stack keeps in it the groups IPv6 neighbour discovery needs: all-nodes
// and the solicited-node group of each unicast address, left when the last
// address in it goes. gVisor does not tell link endpoints about groups
// applications join later.
type MulticastFilter interface {
	// AddMulticast accepts frames to the group addr; adding one already
	// there does nothing.
	AddMulticast(addr [6]byte) error
	// RemoveMulticast stops accepting frames to addr.
	RemoveMulticast(addr [6]byte) error
}
