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

	"tamanet/inet"
	"tamanet/pktgen"
)

// Endpoint is one end of a data frame.
type Endpoint struct {
	MAC  net.HardwareAddr
	IP   netip.Addr // IPv4
	Port uint16
}

// Frame sizes, without FCS.
const (
	headerLen = 14 + 20 + 8 // Ethernet II, IPv4 without options, UDP
	// MinSize is Ethernet's minimum frame (64 bytes with FCS).
	MinSize = 60
	// MaxSize is the largest IPv4 packet a frame can hold.
	MaxSize = 14 + 65535
)

const etherIPv4 = 0x0800

// UDP returns a frame of size bytes (Ethernet header to the end of the UDP
// payload, no FCS) from src to dst, its payload a byte pattern, its IPv4
// and UDP checksums valid.
func UDP(src, dst Endpoint, size int) ([]byte, error) {
	if size < MinSize || size > MaxSize {
		return nil, fmt.Errorf("sinkframe: size %d: want %d to %d", size, MinSize, MaxSize)
	}
	if !src.IP.Is4() || !dst.IP.Is4() || len(src.MAC) != 6 || len(dst.MAC) != 6 {
		return nil, fmt.Errorf("sinkframe: want 6-byte MACs and IPv4 addresses (%v %v, %v %v)", src.MAC, src.IP, dst.MAC, dst.IP)
	}
	b := make([]byte, size)
	copy(b[0:6], dst.MAC)
	copy(b[6:12], src.MAC)
	binary.BigEndian.PutUint16(b[12:14], etherIPv4)

	ip := b[14:34]
	ip[0] = 0x45 // version 4, 5 words of header
	binary.BigEndian.PutUint16(ip[2:4], uint16(size-14))
	binary.BigEndian.PutUint16(ip[6:8], 0x4000) // don't fragment
	ip[8] = 64                                  // TTL
	ip[9] = 17                                  // UDP
	s4, d4 := src.IP.As4(), dst.IP.As4()
	copy(ip[12:16], s4[:])
	copy(ip[16:20], d4[:])
	binary.BigEndian.PutUint16(ip[10:12], ^inet.Fold(inet.Sum(0, ip)))

	udp := b[34:]
	binary.BigEndian.PutUint16(udp[0:2], src.Port)
	binary.BigEndian.PutUint16(udp[2:4], dst.Port)
	binary.BigEndian.PutUint16(udp[4:6], uint16(len(udp)))
	for i := range udp[8:] {
		udp[8+i] = byte(i)
	}
	// The pseudo-header (RFC 768): addresses, protocol, UDP length.
	var pseudo [12]byte
	copy(pseudo[0:4], s4[:])
	copy(pseudo[4:8], d4[:])
	pseudo[9] = 17
	binary.BigEndian.PutUint16(pseudo[10:12], uint16(len(udp)))
	sum := ^inet.Fold(inet.Sum(inet.Sum(0, pseudo[:]), udp))
	if sum == 0 {
		sum = 0xFFFF // 0 means "no checksum" in UDP over IPv4
	}
	binary.BigEndian.PutUint16(udp[6:8], sum)
	return b, nil
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
