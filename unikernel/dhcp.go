//go:build tamago

package unikernel

import (
	"context"
	"fmt"
	"net/netip"

	"tamanet/dhcpclient"
)

// startDHCP runs a DHCP client on the stack (ip=dhcp) and waits, at most
// the dhcpwait= bound, for its first lease; the client goes on renewing
// it, and applies every lease it is given (address, subnet and default
// routes) to the stack. It hears of carrier changes, to verify its lease
// when the link comes back.
func (s *System) startDHCP() error {
	st := s.Stack
	conn, err := st.ListenDHCPClient()
	if err != nil {
		return fmt.Errorf("boot option ip=dhcp: %w", err)
	}
	var mac [6]byte
	copy(mac[:], st.Endpoint().LinkAddress())
	s.dhcp = dhcpclient.New(conn, dhcpclient.Config{
		MAC:      mac,
		Hostname: s.Name,
		Apply: func(_, l dhcpclient.Lease) error {
			if err := st.SetIPv4(l.Addr, l.Gateway); err != nil {
				return err
			}
			s.names.setLease(l) // servers, search domains, own address
			return nil
		},
		Remove: func(dhcpclient.Lease) {
			st.ClearIPv4()
			s.names.setLease(dhcpclient.Lease{})
		},
		Log: func(line string) { fmt.Printf("%s: %s\n", s.Name, line) },
	})
	// Carrier back after a loss: the client verifies its lease
	// (INIT-REBOOT) instead of keeping it unchecked until T1.
	st.OnLinkChange(s.dhcp.LinkChanged)
	go s.dhcp.Run(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), s.Options.DHCPWait)
	defer cancel()
	if _, err := s.dhcp.WaitLease(ctx); err != nil {
		c := s.dhcp.Stats()
		return fmt.Errorf("boot option ip=dhcp: no lease from any server after %v (%d DISCOVERs sent, %d OFFERs, %d malformed replies; dhcpwait= sets the wait)",
			s.Options.DHCPWait, c.Discovers, c.Offers, c.Malformed)
	}
	s.boot.mark(phaseLease)
	return nil
}

// dhcpLease describes the DHCP lease for the READY line ("" without
// ip=dhcp).
func (s *System) dhcpLease() string {
	if s.dhcp == nil {
		return ""
	}
	l, _ := s.dhcp.Lease()
	return "; dhcp lease " + l.String()
}

// dns is the name server: dns='s, else the DHCP lease's first.
func (s *System) dns() netip.Addr {
	if s.Options.DNS.IsValid() || s.dhcp == nil {
		return s.Options.DNS
	}
	if l, _ := s.dhcp.Lease(); len(l.DNS) > 0 {
		return l.DNS[0]
	}
	return netip.Addr{}
}

// dhcpStats is the DHCP client's snapshot, nil without ip=dhcp.
func (s *System) dhcpStats() *dhcpclient.Stats {
	if s.dhcp == nil {
		return nil
	}
	st := s.dhcp.Stats()
	return &st
}
