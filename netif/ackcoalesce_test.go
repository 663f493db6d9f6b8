package netif

import (
	"bytes"
	"fmt"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
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

// TestACKCoalescing feeds receive batches and checks which packets reach
// the stack: in a run of pure ACKs each acknowledging more than the one
// before, those between the first and the last are dropped; everything
// that carries information of its own comes up, in order: duplicate ACKs
// (fast retransmit counts them) and window updates, which do not
// acknowledge more than the ACK before them, SACK, other flags, data.
// Each case runs with the device's checksum verdict withheld (netif
// verifies) and given.
func TestACKCoalescing(t *testing.T) {
	sack := func(s []byte) []byte { // a pure ACK with one SACK block
		opts := []byte{1, 1, 5, 10, 0, 0, 0, 9, 0, 0, 0, 10}
		s = append(s[:20:20], opts...)
		s[12] = 32 / 4 << 4
		return s
	}
	psh := func(f *header.TCPFields) { f.Flags |= header.TCPFlagPsh }
	otherPort := func(f *header.TCPFields) { f.SrcPort = 81 }
	window := func(f *header.TCPFields) { f.WindowSize = 2000 }
	ack := func(n uint32) []byte { return ipv4Frame(6, ackSegment(1, n, 0, nil)) }
	bad := ack(700)
	bad[len(bad)-1] ^= 1
	for _, c := range []struct {
		name   string
		frames [][]byte // nil: the receive batch ends
		want   []int    // sizes (IP on) of the packets the stack gets
		merged uint64
	}{
		{"run keeps its first and last", [][]byte{ack(100), ack(200), ack(300), ack(400)}, []int{40, 40}, 2},
		{"with timestamps", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 5, nil)),
			ipv4Frame(6, ackSegment(1, 200, 6, nil)),
			ipv4Frame(6, ackSegment(1, 300, 6, nil)),
		}, []int{52, 52}, 1},
		{"duplicate ACKs stay", [][]byte{ack(100), ack(100), ack(100)}, []int{40, 40, 40}, 0},
		{"duplicate ACK before a later one stays", [][]byte{ack(100), ack(100), ack(200)}, []int{40, 40, 40}, 0},
		{"run after a duplicate ACK", [][]byte{ack(100), ack(100), ack(200), ack(300)}, []int{40, 40, 40}, 1},
		{"duplicate ACK across batches stays", [][]byte{ack(100), nil, ack(100), ack(200)}, []int{40, 40, 40}, 0},
		{"run across batches", [][]byte{ack(100), nil, ack(200), ack(300)}, []int{40, 40}, 1},
		{"window update stays", [][]byte{
			ack(100),
			ipv4Frame(6, ackSegment(1, 100, 0, window)),
			ack(200),
		}, []int{40, 40, 40}, 0},
		{"older acknowledgement stays", [][]byte{ack(200), ack(100)}, []int{40, 40}, 0},
		{"SACK stays", [][]byte{
			ipv4Frame(6, sack(ackSegment(1, 100, 0, nil))),
			ipv4Frame(6, sack(ackSegment(1, 200, 0, nil))),
			ipv4Frame(6, sack(ackSegment(1, 300, 0, nil))),
		}, []int{52, 52, 52}, 0},
		{"other flags stay", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 0, psh)),
			ipv4Frame(6, ackSegment(1, 200, 0, psh)),
			ipv4Frame(6, ackSegment(1, 300, 0, psh)),
		}, []int{40, 40, 40}, 0},
		{"other connection stays", [][]byte{
			ack(100),
			ipv4Frame(6, ackSegment(1, 200, 0, otherPort)),
			ack(300),
		}, []int{40, 40, 40}, 0},
		{"timestamp going back stays", [][]byte{
			ipv4Frame(6, ackSegment(1, 100, 9, nil)),
			ipv4Frame(6, ackSegment(1, 200, 9, nil)),
			ipv4Frame(6, ackSegment(1, 300, 8, nil)),
		}, []int{52, 52, 52}, 0},
		{"data in between releases the held ACK", [][]byte{
			ack(100),
			ipv4Frame(6, tcpSegment(1, 10)),
			ipv4Frame(6, ackSegment(11, 200, 0, nil)),
		}, []int{40, 50, 40}, 0},
		{"duplicate ACK after data is not merged into it", [][]byte{
			ipv4Frame(6, tcpSegment(1, 10)),
			ipv4Frame(6, ackSegment(11, 1, 0, nil)),
		}, []int{50, 40}, 0},
		{"unverified in between releases the held ACK", [][]byte{ack(100), ack(200), bad, ack(800)}, []int{40, 40, 40, 40}, 0},
	} {
		for _, csumOK := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/device verdict %v", c.name, csumOK), func(t *testing.T) {
				d, ep, g, rec := newGROTestbed()
				for _, f := range c.frames {
					if f == nil {
						g.Flush()
						continue
					}
					d.rx(bytes.Clone(f), csumOK && !bytes.Equal(f, bad))
				}
				g.Flush()
				if !equal(rec.sizes, c.want) {
					t.Errorf("stack got packets of %v bytes, want %v", rec.sizes, c.want)
				}
				if got := ep.Counters().RxACKsCoalesced; got != c.merged {
					t.Errorf("rx_acks_coalesced %d, want %d", got, c.merged)
				}
				checkRxCounters(t, ep.Counters(), len(rec.got), 0)
			})
		}
	}
}

// TestACKCoalescingKeepsLastAck checks that the ACKs that come up are the
// run's first and last, not those between.
func TestACKCoalescingKeepsLastAck(t *testing.T) {
	d, _, g, _ := newGROTestbed()
	var acks []uint32
	g.Attach(dispatcherFunc(func(b []byte) { acks = append(acks, header.TCP(b[header.IPv4MinimumSize:]).AckNumber()) }))
	for _, a := range []uint32{100, 200, 300, 400} {
		d.rx(ipv4Frame(6, ackSegment(1, a, 0, nil)), false)
	}
	g.Flush()
	if !equal(acks, []uint32{100, 400}) {
		t.Errorf("stack got ACKs %v, want [100 400]", acks)
	}
}

// dispatcherFunc plays the NIC, handing each packet's bytes (IP header on)
// to the function.
type dispatcherFunc func(b []byte)

func (f dispatcherFunc) DeliverNetworkPacket(_ tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	f(pkt.Data().AsRange().ToSlice())
}
func (dispatcherFunc) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}

// FuzzACKCoalescing feeds one receive batch built from fuzzed bytes (two
// per frame: connection, kind, acknowledgement step, timestamp step) and
// checks, by the IP ID each frame carries: the stack gets each connection's
// frames in order (GRO may hold one connection's data while another's
// ACKs pass) and none twice; every frame left out is a pure ACK without
// SACK whose predecessor and successor in the batch are pure ACKs of the
// same connection acknowledging less and more (so a duplicate ACK is never
// left out); rx_acks_coalesced counts them; and the batch's first and last
// frames always come up.
func FuzzACKCoalescing(f *testing.F) {
	f.Add([]byte{0x00, 0x11, 0x00, 0x11, 0x00, 0x11})
	f.Add([]byte{0x00, 0x11, 0x10, 0x11, 0x20, 0x01, 0x30, 0x11, 0x41, 0x10, 0x50, 0x11})
	f.Fuzz(func(t *testing.T, data []byte) {
		type frame struct {
			port     uint16
			ack      uint32
			pureACK  bool // flags ACK only, no payload, no SACK, verifies
			ts       uint32
			hasTS    bool
			delivers bool
		}
		var in []frame
		var frames [][]byte
		ack, ts := uint32(1000), uint32(50)
		for i := 0; i+1 < len(data) && len(in) < 200; i += 2 {
			a, b := data[i], data[i+1]
			fr := frame{port: 80 + uint16(a&1), hasTS: a&0x80 != 0}
			ack += uint32(b&3) - 1 // back, same or forward
			fr.ack = ack
			ts += uint32(b>>2&3) - 1
			fr.ts = ts
			var tsv uint32
			if fr.hasTS {
				tsv = ts
			}
			edit := func(h *header.TCPFields) { h.SrcPort = fr.port }
			var seg []byte
			switch kind := a >> 1 & 7; kind {
			case 0, 1, 2: // pure ACK
				seg = ackSegment(1, fr.ack, tsv, edit)
				fr.pureACK = true
			case 3: // with PSH
				seg = ackSegment(1, fr.ack, tsv, func(h *header.TCPFields) { edit(h); h.Flags |= header.TCPFlagPsh })
			case 4: // data
				seg = tcpSegment(1, int(b>>4)+1)
				header.TCP(seg).SetSourcePort(fr.port)
			case 5: // SACK
				seg = ackSegment(1, fr.ack, 0, edit)
				seg = append(seg, 1, 1, 5, 10, 0, 0, 0, 9, 0, 0, 0, 10)
				seg[12] = 32 / 4 << 4
			default: // pure ACK, damaged
				seg = ackSegment(1, fr.ack, tsv, edit)
			}
			f := editIPv4(ipv4Frame(6, seg), func(ip header.IPv4) { ip.SetID(uint16(len(in))) })
			if a>>1&7 >= 6 {
				f[len(f)-1] ^= 0x10
			}
			// ackSegment with ts 0 writes no option: record what was built.
			fr.hasTS = fr.hasTS && tsv != 0
			in = append(in, fr)
			frames = append(frames, f)
		}
		d, ep, g, _ := newGROTestbed()
		var ids []int
		g.Attach(dispatcherFunc(func(b []byte) { ids = append(ids, int(header.IPv4(b).ID())) }))
		for _, fr := range frames {
			d.rx(fr, false)
		}
		g.Flush()

		last := map[uint16]int{80: -1, 81: -1}
		for _, id := range ids {
			if id >= len(in) || in[id].delivers || id <= last[in[id].port] {
				t.Fatalf("stack got frames %v: not each connection's frames in order, once", ids)
			}
			in[id].delivers = true
			last[in[id].port] = id
		}
		dropped := 0
		for i, fr := range in {
			if fr.delivers {
				continue
			}
			dropped++
			if i == 0 || i+1 == len(in) {
				t.Fatalf("the batch's first or last frame was dropped (stack got %v)", ids)
			}
			supersedes := func(a, b frame) bool {
				return a.pureACK && b.pureACK && a.port == b.port && int32(a.ack-b.ack) > 0 &&
					a.hasTS == b.hasTS && (!a.hasTS || int32(a.ts-b.ts) >= 0)
			}
			if !supersedes(fr, in[i-1]) || !supersedes(in[i+1], fr) {
				t.Fatalf("frame %d %+v dropped between %+v and %+v", i, fr, in[i-1], in[i+1])
			}
		}
		if got := ep.Counters().RxACKsCoalesced; got != uint64(dropped) {
			t.Errorf("rx_acks_coalesced %d, %d frames dropped", got, dropped)
		}
	})
}

// ipv6Frame builds an Ethernet/IPv6 frame around TCP segment seg with a
// correct TCP checksum.
func ipv6Frame(seg []byte) []byte { return ipv6FrameExt(uint8(header.TCPProtocolNumber), nil, seg) }

// ipv6FrameExt is ipv6Frame with extension headers ext, the first of type
// next, between the IPv6 header and the segment; the last one's next-header
// byte must say TCP.
func ipv6FrameExt(next uint8, ext, seg []byte) []byte {
	f := make([]byte, header.EthernetMinimumSize+header.IPv6MinimumSize+len(ext)+len(seg))
	header.Ethernet(f).Encode(&header.EthernetFields{Type: header.IPv6ProtocolNumber})
	ip := header.IPv6(f[header.EthernetMinimumSize:])
	src, dst := tcpip.AddrFrom16([16]byte{0xfd, 15: 2}), tcpip.AddrFrom16([16]byte{0xfd, 15: 0x15})
	ip.Encode(&header.IPv6Fields{PayloadLength: uint16(len(ext) + len(seg)), TransportProtocol: tcpip.TransportProtocolNumber(next),
		HopLimit: 64, SrcAddr: src, DstAddr: dst})
	copy(ip[header.IPv6MinimumSize:], ext)
	t := header.TCP(ip[header.IPv6MinimumSize+len(ext):])
	copy(t, seg)
	t.SetChecksum(0)
	t.SetChecksum(^checksum.Checksum(t, header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, uint16(len(t)))))
	return f
}

// TestACKCoalescingIPv6: the same rules hold over IPv6.
func TestACKCoalescingIPv6(t *testing.T) {
	d, ep, g, rec := newGROTestbed()
	for _, f := range [][]byte{
		ipv6Frame(ackSegment(1, 100, 7, nil)),
		ipv6Frame(ackSegment(1, 200, 7, nil)), // between two: dropped
		ipv6Frame(ackSegment(1, 300, 7, nil)),
		ipv6Frame(ackSegment(1, 300, 7, nil)), // a duplicate: stays
	} {
		d.rx(f, false)
	}
	g.Flush()
	if !equal(rec.sizes, []int{72, 72, 72}) || ep.Counters().RxACKsCoalesced != 1 {
		t.Errorf("stack got packets of %v bytes, %d coalesced; want [72 72 72], 1", rec.sizes, ep.Counters().RxACKsCoalesced)
	}
}
