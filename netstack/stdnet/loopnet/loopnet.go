//go:build tamago

// Package loopnet gives package net, on GOOS=tamago, a gVisor stack with
// only a loopback interface (127.0.0.1/8 and ::1): importing it installs
// one at init, so a program or test suite with no NIC, such as package
// net's own tests under the port, runs its TCP and UDP sockets through
// stdnet instead of the in-process fake network.
package loopnet

import (
	"tamanet/netstack"
	"tamanet/netstack/stdnet"
)

func init() {
	s, err := netstack.NewLoopback()
	if err != nil {
		panic(err)
	}
	stdnet.Install(stdnet.New(s, netstack.LoopbackNICID))
}
