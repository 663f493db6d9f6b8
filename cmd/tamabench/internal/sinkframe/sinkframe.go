// Package sinkframe builds the Ethernet frames the host sends to the
// unikernel's receive sink (boot option pktgen=sink, issue 22's contract):
// IPv4 UDP data frames to the guest with valid checksums, built once and
// sent many times, and the end marker that closes a measurement interval.
package sinkframe

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"tamanet/pktgen"
)

// Endpoint is one end of a data frame.
type Endpoint struct {
	MAC net.HardwareAddr
	IP  netip.Addr // IPv4
}

// Frame sizes, without FCS.
const (
	// MinSize is Ethernet's minimum frame (64 bytes with FCS).
	MinSize = 60
	// MaxSize is the largest IPv4 packet a frame can hold.
	MaxSize = 14 + 65535
)

// UDP returns a frame of size bytes (Ethernet header to the end of the UDP
// payload, no FCS) from src to dst, from and to the discard port, its
// payload a byte pattern, its IPv4 and UDP checksums valid: the frame
// pktgen's generator sends (pktgen.UDPFrame).
func UDP(src, dst Endpoint, size int) ([]byte, error) {
	if size < MinSize || size > MaxSize {
		return nil, fmt.Errorf("sinkframe: size %d: want %d to %d", size, MinSize, MaxSize)
	}
	if !src.IP.Is4() || !dst.IP.Is4() || len(src.MAC) != 6 || len(dst.MAC) != 6 {
		return nil, fmt.Errorf("sinkframe: want 6-byte MACs and IPv4 addresses (%v %v, %v %v)", src.MAC, src.IP, dst.MAC, dst.IP)
	}
	f := pktgen.Flow{IPSrc: src.IP, IPDst: dst.IP}
	copy(f.EthSrc[:], src.MAC)
	copy(f.EthDst[:], dst.MAC)
	return pktgen.UDPFrame(f, size), nil
}

// EndMarker returns the end marker frame from src to dst, as package
// pktgen (the sink) recognises it: EtherType pktgen.MarkerEtherType, the
// payload pktgen.MarkerText, padded to MinSize.
func EndMarker(src, dst net.HardwareAddr) []byte {
	b := make([]byte, MinSize)
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], pktgen.MarkerEtherType)
	copy(b[14:], pktgen.MarkerText)
	return b
}
