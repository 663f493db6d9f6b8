package sinkframe

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"tamanet/pktgen"
)

var (
	host  = Endpoint{MAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 2}, IP: netip.MustParseAddr("10.0.2.2")}
	guest = Endpoint{MAC: net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}, IP: netip.MustParseAddr("10.0.2.15")}
)

// TestUDPValid checks each size's frame as a receiver would, with gVisor's
// header parsers: lengths, addresses, ports and both checksums.
func TestUDPValid(t *testing.T) {
	for _, size := range []int{MinSize, 61, 1514, 9014, MaxSize} {
		b, err := UDP(host, guest, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != size {
			t.Fatalf("size %d: frame of %d bytes", size, len(b))
		}
		eth := header.Ethernet(b)
		if eth.Type() != header.IPv4ProtocolNumber || !bytes.Equal([]byte(eth.DestinationAddress()), guest.MAC) || !bytes.Equal([]byte(eth.SourceAddress()), host.MAC) {
			t.Fatalf("size %d: ethernet %x", size, b[:14])
		}
		ip := header.IPv4(b[14:])
		if !ip.IsValid(size-14) || !ip.IsChecksumValid() || int(ip.TotalLength()) != size-14 {
			t.Fatalf("size %d: IPv4 header %x invalid", size, b[14:34])
		}
		if ip.SourceAddress().String() != "10.0.2.2" || ip.DestinationAddress().String() != "10.0.2.15" || ip.TransportProtocol() != header.UDPProtocolNumber {
			t.Fatalf("size %d: IPv4 %v -> %v proto %d", size, ip.SourceAddress(), ip.DestinationAddress(), ip.TransportProtocol())
		}
		udp := header.UDP(ip.Payload())
		if udp.SourcePort() != 9 || udp.DestinationPort() != 9 || int(udp.Length()) != size-34 {
			t.Fatalf("size %d: UDP %d -> %d length %d", size, udp.SourcePort(), udp.DestinationPort(), udp.Length())
		}
		payloadSum := checksum.Checksum(udp.Payload(), 0)
		if !udp.IsChecksumValid(ip.SourceAddress(), ip.DestinationAddress(), payloadSum) {
			t.Fatalf("size %d: UDP checksum %#04x invalid", size, udp.Checksum())
		}
	}
}

func TestUDPRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		src, dst Endpoint
		size     int
	}{
		{host, guest, MinSize - 1},
		{host, guest, MaxSize + 1},
		{Endpoint{MAC: host.MAC, IP: netip.MustParseAddr("fd00::2")}, guest, 100},
		{Endpoint{MAC: net.HardwareAddr{1, 2, 3}, IP: host.IP}, guest, 100},
	} {
		if _, err := UDP(c.src, c.dst, c.size); err == nil {
			t.Errorf("UDP(%v, %v, %d): no error", c.src, c.dst, c.size)
		}
	}
}

func TestEndMarker(t *testing.T) {
	b := EndMarker(host.MAC, guest.MAC)
	eth := header.Ethernet(b)
	if len(b) != MinSize || !pktgen.IsMarker(b) {
		t.Fatalf("marker %x: not one to the sink", b)
	}
	if data, _ := UDP(host, guest, MinSize); pktgen.IsMarker(data) {
		t.Fatal("a data frame taken for a marker")
	}
	if !bytes.Equal([]byte(eth.DestinationAddress()), guest.MAC) || !bytes.Equal([]byte(eth.SourceAddress()), host.MAC) {
		t.Fatalf("marker addresses %x", b[:12])
	}
}
