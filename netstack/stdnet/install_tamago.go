//go:build tamago

package stdnet

import (
	"context"
	"net"
	"net/netip"
)

// Install makes st the stack of every TCP and UDP socket package net
// opens from now on.
func Install(st *Stack) {
	net.SetStack(netStack{st})
}

// netStack is Stack as the port's net.Stack, whose methods return its
// interfaces (and never a typed nil).
type netStack struct{ st *Stack }

func (n netStack) DialTCP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (net.StackConn, error) {
	c, err := n.st.DialTCP(ctx, network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (n netStack) ListenTCP(network string, laddr netip.AddrPort) (net.StackListener, error) {
	l, err := n.st.ListenTCP(network, laddr)
	if err != nil {
		return nil, err
	}
	return netListener{l}, nil
}

func (n netStack) ListenUDP(network string, laddr, raddr netip.AddrPort) (net.StackPacketConn, error) {
	c, err := n.st.ListenUDP(network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

type netListener struct{ *Listener }

func (l netListener) Accept() (net.StackConn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return c, nil
}
