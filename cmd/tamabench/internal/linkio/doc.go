//go:build linux

// Package linkio writes prepared frames to a network interface below any
// stack, in batches through an AF_PACKET socket, for the throughput
// ceiling benchmark (the link's counters come from vm.Link).
//
// The socket belongs to the network namespace of the thread that created
// it: open it from inside the namespace holding the link
// (vm.NetnsDialer.PacketSocket) and use it from anywhere.
package linkio
