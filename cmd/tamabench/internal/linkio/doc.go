//go:build linux

// Package linkio works a network interface below any stack, for the
// throughput ceiling benchmark: it reads the link's counters over
// rtnetlink (the figures /sys/class/net/IF/statistics shows) and writes
// prepared frames to it in batches through an AF_PACKET socket.
//
// Both keep a socket, which belongs to the network namespace of the
// thread that created it: open them from inside the namespace holding
// the link (vm.NetnsDialer.Run, vm.NetnsDialer.PacketSocket) and use them
// from anywhere.
package linkio
