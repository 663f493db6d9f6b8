package netstack

import (
	"gvisor.dev/gvisor/pkg/tcpip"

	"tamanet/netif"
	"tamanet/netif/capture"
)

// Stats is the link's counters and the stack's.
type Stats struct {
	// Netif is the link endpoint's own counters and the capture point's.
	Netif LinkCounters `json:"netif"`
	// Stack is gVisor's statistics. Its *tcpip.StatCounter fields are
	// live: they are read when the snapshot is rendered (tamanet/expose
	// reads them through their Value method). TCP.CurrentEstablished and
	// TCP.CurrentConnected go down as well as up, which gVisor's type does
	// not say, so they are left out here and shown in TCPConnections.
	Stack tcpip.Stats `json:"stack"`
	// TCPConnections are the stack's TCP connection gauges.
	TCPConnections TCPConnections `json:"tcp_connections"`
}

// LinkCounters are the counters of what lies below the NIC, side by side
// under one key: the link endpoint's and the live capture's.
type LinkCounters struct {
	netif.Counters
	capture.Stats
}

// TCPConnections counts the stack's TCP connections now.
type TCPConnections struct {
	// Established counts connections in ESTABLISHED.
	Established uint64 `json:"established" metric:"gauge"`
	// Connected counts connections past the handshake and not yet closed
	// (ESTABLISHED through the closing states).
	Connected uint64 `json:"connected" metric:"gauge"`
}

// Stats returns the link's counters and the stack's statistics.
func (st *Stack) Stats() Stats {
	s := Stats{
		Netif: LinkCounters{st.ep.Counters(), st.capture.Stats()},
		Stack: st.s.Stats(),
	}
	tcp := &s.Stack.TCP
	s.TCPConnections = TCPConnections{
		Established: tcp.CurrentEstablished.Value(),
		Connected:   tcp.CurrentConnected.Value(),
	}
	tcp.CurrentEstablished, tcp.CurrentConnected = nil, nil // a copy: the stack keeps its own
	return s
}
