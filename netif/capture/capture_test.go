package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// nopDispatcher plays the NIC above the point.
type nopDispatcher struct{}

func (nopDispatcher) DeliverNetworkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}
func (nopDispatcher) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer)    {}

// newTestPoint is a Point over a gVisor channel endpoint, attached, and
// that endpoint, whose InjectInbound plays a received packet.
func newTestPoint() (*Point, *channel.Endpoint) {
	ch := channel.New(16, 1500, "")
	p := NewPoint(ch)
	p.Attach(nopDispatcher{})
	return p, ch
}

// tcpPacket is an IPv4 TCP segment from src to dst with n payload bytes.
func tcpPacket(src, dst netip.AddrPort, n int) []byte {
	b := make([]byte, header.IPv4MinimumSize+header.TCPMinimumSize+n)
	header.IPv4(b).Encode(&header.IPv4Fields{
		TotalLength: uint16(len(b)), TTL: 64, Protocol: uint8(header.TCPProtocolNumber),
		SrcAddr: tcpip.AddrFrom4(src.Addr().As4()), DstAddr: tcpip.AddrFrom4(dst.Addr().As4()),
	})
	header.TCP(b[header.IPv4MinimumSize:]).Encode(&header.TCPFields{
		SrcPort: src.Port(), DstPort: dst.Port(), DataOffset: header.TCPMinimumSize, Flags: header.TCPFlagAck,
	})
	return b
}

// inject hands b to the point as a received packet of protocol proto.
func inject(ch *channel.Endpoint, proto tcpip.NetworkProtocolNumber, b []byte) {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(b)})
	ch.InjectInbound(proto, pkt)
	pkt.DecRef()
}

// TestRunExcludesAndCounts captures packets injected at the point: the
// excluded connection's (either way) and ARP are left out and counted,
// the others written, cut to the snap length, until the packet limit.
func TestRunExcludesAndCounts(t *testing.T) {
	p, ch := newTestPoint()
	local, remote := netip.MustParseAddrPort("10.0.2.15:8081"), netip.MustParseAddrPort("10.0.2.2:40000")
	other := netip.MustParseAddrPort("10.0.2.2:40001")
	var out bytes.Buffer
	done := make(chan Result)
	go func() {
		res, err := p.Run(context.Background(), &out, nil, Options{
			Packets: 2, Duration: time.Minute, SnapLen: 60, ExcludeLocal: local, ExcludeRemote: remote})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	for p.Stats().Captures == 0 {
		time.Sleep(time.Millisecond)
	}
	inject(ch, header.IPv4ProtocolNumber, tcpPacket(remote, local, 100))
	inject(ch, header.IPv4ProtocolNumber, tcpPacket(local, remote, 100))
	inject(ch, header.ARPProtocolNumber, make([]byte, header.ARPSize))
	inject(ch, header.IPv4ProtocolNumber, tcpPacket(other, local, 100))
	inject(ch, header.IPv4ProtocolNumber, tcpPacket(local, other, 100))
	res := <-done
	if res.Packets != 2 || res.Excluded != 2 || res.NonIP != 1 || res.Stopped != "packets" {
		t.Errorf("result %+v", res)
	}
	b := out.Bytes()
	if len(b) != 24+2*(16+60) || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%d bytes of pcap, want a header and two records of 60 bytes", len(b))
	}
	for i, rec := range [][]byte{b[24:], b[24+16+60:]} {
		src, dst, ok := tcpEnds(append(rec[16:16+60:16+60], make([]byte, 100)...))
		if !ok || src == remote || dst == remote {
			t.Errorf("record %d: %v -> %v (%v)", i, src, dst, ok)
		}
	}
	if s := p.Stats(); s.Captures != 1 || s.CapturePackets != 2 || s.CaptureDropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRunOneAtATimeAndBadOptions: a second capture is refused while one
// runs, and options out of their bounds are refused.
func TestRunOneAtATimeAndBadOptions(t *testing.T) {
	p, _ := newTestPoint()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, io.Discard, nil, Options{Packets: 10, Duration: time.Minute, SnapLen: 64})
	}()
	for p.Stats().Captures == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := p.Run(context.Background(), io.Discard, nil, Options{Packets: 1, Duration: time.Second, SnapLen: 64}); !errors.Is(err, ErrBusy) {
		t.Errorf("second capture: %v, want ErrBusy", err)
	}
	cancel()
	<-done
	for _, o := range []Options{
		{Packets: 0, Duration: time.Second, SnapLen: 64},
		{Packets: MaxPackets + 1, Duration: time.Second, SnapLen: 64},
		{Packets: 1, Duration: 0, SnapLen: 64},
		{Packets: 1, Duration: MaxDuration + 1, SnapLen: 64},
		{Packets: 1, Duration: time.Second, SnapLen: 0},
		{Packets: 1, Duration: time.Second, SnapLen: MaxSnapLen + 1},
	} {
		if _, err := p.Run(context.Background(), io.Discard, nil, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
