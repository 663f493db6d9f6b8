package netif

import (
	"bytes"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// ackSegment is a pure ACK from port 80 to 4000 at seq acknowledging ack,
// with a timestamp option when ts is nonzero and extra header fields set by
// edit.
func ackSegment(seq, ack, ts uint32, edit func(*header.TCPFields)) []byte {
	f := header.TCPFields{SrcPort: 80, DstPort: 4000, SeqNum: seq, AckNum: ack,
		DataOffset: header.TCPMinimumSize, Flags: header.TCPFlagAck, WindowSize: 1000}
	if edit != nil {
		edit(&f)
	}
	var opts []byte
	if ts != 0 {
		opts = []byte{1, 1, 8, 10, byte(ts >> 24), byte(ts >> 16), byte(ts >> 8), byte(ts), 0, 0, 0, 1}
		f.DataOffset += uint8(len(opts))
	}
	s := make([]byte, header.TCPMinimumSize, header.TCPMinimumSize+len(opts))
	header.TCP(s).Encode(&f)
	return append(s, opts...)
}

// TestACKCoalescing feeds one receive batch and checks which packets reach
// the stack: runs of pure ACKs that move the acknowledgement forward
// collapse to their last one; everything that carries information of its
// own comes up, in order.
func TestACKCoalescing(t *testing.T) {
	sack := func(s []byte) []byte { // a pure ACK with one SACK block
		opts := []byte{1, 1, 5, 10, 0, 0, 0, 9, 0, 0, 0, 10}
		s = append(s[:20:20], opts...)
		s[12] = 32 / 4 << 4
		return s
	}
	psh := func(f *header.TCPFields) { f.Flags |= header.TCPFlagPsh }
	otherPort := func(f *header.TCPFields) { f.SrcPort = 81 }
	bad := ipv4Frame(6, ackSegment(1, 700, 0, nil))
	bad[len(bad)-1] ^= 1
	for _, c := range []struct {
		name   string
		frames [][]byte
		want   []int // sizes (IP on) of the packets the stack gets
		merged uint64
	}{
		{"run collapses to its last", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 0, nil)),
			ipv4Frame(6, ackSegment(1, 200, 0, nil)),
			ipv4Frame(6, ackSegment(1, 300, 0, nil)),
		}, []int{40}, 2},
		{"with timestamps", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 5, nil)),
			ipv4Frame(6, ackSegment(1, 200, 6, nil)),
		}, []int{52}, 1},
		{"duplicate ACKs stay", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 0, nil)),
			ipv4Frame(6, ackSegment(1, 100, 0, nil)),
			ipv4Frame(6, ackSegment(1, 100, 0, nil)),
		}, []int{40, 40, 40}, 0},
		{"older acknowledgement stays", [][]byte{
			ipv4Frame(6, ackSegment(1, 200, 0, nil)),
			ipv4Frame(6, ackSegment(1, 100, 0, nil)),
		}, []int{40, 40}, 0},
		{"SACK stays", [][]byte{
			ipv4Frame(6, sack(ackSegment(1, 100, 0, nil))),
			ipv4Frame(6, sack(ackSegment(1, 200, 0, nil))),
		}, []int{52, 52}, 0},
		{"other flags stay", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 0, psh)),
			ipv4Frame(6, ackSegment(1, 200, 0, psh)),
		}, []int{40, 40}, 0},
		{"other connection stays", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 0, nil)),
			ipv4Frame(6, ackSegment(1, 200, 0, otherPort)),
		}, []int{40, 40}, 0},
		{"timestamp going back stays", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 9, nil)),
			ipv4Frame(6, ackSegment(1, 200, 8, nil)),
		}, []int{52, 52}, 0},
		{"data in between releases the held ACK", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 0, nil)),
			ipv4Frame(6, tcpSegment(1, 10)),
			ipv4Frame(6, ackSegment(11, 200, 0, nil)),
		}, []int{40, 50, 40}, 0},
		{"unverified in between releases the held ACK", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 0, nil)),
			bad,
			ipv4Frame(6, ackSegment(1, 800, 0, nil)),
		}, []int{40, 40, 40}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, ep, g, rec := newGROTestbed()
			for _, f := range c.frames {
				d.rx(bytes.Clone(f), false)
			}
			g.Flush()
			if !equal(rec.sizes, c.want) {
				t.Errorf("stack got packets of %v bytes, want %v", rec.sizes, c.want)
			}
			if got := ep.Counters().RxACKsCoalesced; got != c.merged {
				t.Errorf("rx_acks_coalesced %d, want %d", got, c.merged)
			}
		})
	}
}

// TestACKCoalescingKeepsLastAck checks that the ACK that comes up is the
// run's last, not its first.
func TestACKCoalescingKeepsLastAck(t *testing.T) {
	d, _, g, _ := newGROTestbed()
	var acks []uint32
	g.Attach(dispatcherFunc(func(b []byte) { acks = append(acks, header.TCP(b[header.IPv4MinimumSize:]).AckNumber()) }))
	for _, a := range []uint32{100, 200, 300} {
		d.rx(ipv4Frame(6, ackSegment(1, a, 0, nil)), false)
	}
	g.Flush()
	if !equal(acks, []uint32{300}) {
		t.Errorf("stack got ACKs %v, want [300]", acks)
	}
}

// dispatcherFunc plays the NIC, handing each packet's bytes (IP header on)
// to the function.
type dispatcherFunc func(b []byte)

func (f dispatcherFunc) DeliverNetworkPacket(_ tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	f(pkt.Data().AsRange().ToSlice())
}
func (dispatcherFunc) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}
