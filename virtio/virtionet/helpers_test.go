package virtionet

import (
	"bytes"
	"encoding/binary"
	"testing"

	"tamanet/devmodel/arena"
	"tamanet/inet"
	"tamanet/txframe"
	"tamanet/virtio/virtionet/model"
)

var (
	testMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	peerMAC = [6]byte{0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC}
)

// sent is a frame the model's transmit side got.
type sent struct {
	frame []byte
	hdr   model.Header
}

// rig is the driver on a model, driven from the test goroutine:
// interrupts come synchronously from the model and the test runs the poll
// engine with drain.
type rig struct {
	t     testing.TB
	mem   *arena.Arena
	m     *model.Model
	d     *Device
	rx    [][]byte
	csum  []bool
	links []bool
	wakes int
	wire  []sent
	keep  bool // copy delivered frames into rx
}

func newRig(t testing.TB, mcfg model.Config, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, mem: arena.New(32 << 20), keep: true}
	mcfg.Memory = r.mem
	if mcfg.MAC == ([6]byte{}) {
		mcfg.MAC = testMAC
	}
	mcfg.IRQ = func() {
		if r.d != nil {
			r.d.HandleInterrupt()
		}
	}
	mcfg.Transmit = func(f []byte, h model.Header) { r.wire = append(r.wire, sent{f, h}) }
	r.m = model.New(mcfg)
	d, err := New(r.m, r.mem, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.d = d
	d.Attach(func(f []byte, ok bool) {
		if r.keep {
			r.rx = append(r.rx, append([]byte(nil), f...))
			r.csum = append(r.csum, ok)
		}
	}, func(up bool) { r.links = append(r.links, up) }, func() { r.wakes++ })
	return r
}

// drain runs poll rounds until the engine rests.
func (r *rig) drain() {
	for i := 0; r.d.NAPI().Step(); i++ {
		if i > 10000 {
			r.t.Fatal("poll engine never completes")
		}
	}
}

// receive gives the device a frame from outside and polls.
func (r *rig) receive(f []byte, h model.Header) error {
	err := r.m.Receive(f, h)
	r.drain()
	return err
}

// checkRefilled checks that every receive buffer is back with the device.
func (r *rig) checkRefilled() {
	r.t.Helper()
	if got, want := r.m.RxPosted(), r.d.rxb.count; got != want {
		r.t.Errorf("device holds %d receive buffers, want %d", got, want)
	}
}

// udpFrame builds an Ethernet+IPv4+UDP frame with n payload bytes and
// correct checksums.
func udpFrame(n int, seed byte) []byte {
	f := make([]byte, 14+20+8+n)
	copy(f, peerMAC[:])
	copy(f[6:], testMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+n))
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^inet.Fold(inet.Sum(0, ip[:20])))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], 1000)
	binary.BigEndian.PutUint16(u[2:], 2000)
	binary.BigEndian.PutUint16(u[4:], uint16(8+n))
	for i := range n {
		u[8+i] = seed + byte(i)
	}
	ps := inet.Sum(0, ip[12:20]) + 17 + uint32(8+n)
	binary.BigEndian.PutUint16(u[6:], ^inet.Fold(inet.Sum(ps, u)))
	return f
}

// tcpFrame builds an Ethernet+IPv4 (or IPv6)+TCP frame with n payload
// bytes; with partial set its checksum field holds only the
// pseudo-header sum (CHECKSUM_PARTIAL), else a full checksum.
func tcpFrame(n int, v6, partial bool) []byte {
	ipl := 20
	if v6 {
		ipl = 40
	}
	f := make([]byte, 14+ipl+20+n)
	copy(f, peerMAC[:])
	copy(f[6:], testMAC[:])
	ip := f[14:]
	var ps uint32
	if v6 {
		binary.BigEndian.PutUint16(f[12:], 0x86DD)
		ip[0], ip[6], ip[7] = 0x60, 6, 64
		binary.BigEndian.PutUint16(ip[4:], uint16(20+n))
		ip[8+15], ip[24+15] = 1, 2
		ps = inet.Sum(0, ip[8:40])
	} else {
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip[0], ip[8], ip[9] = 0x45, 64, 6
		binary.BigEndian.PutUint16(ip[2:], uint16(20+20+n))
		binary.BigEndian.PutUint16(ip[4:], 77)
		copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		binary.BigEndian.PutUint16(ip[10:], ^inet.Fold(inet.Sum(0, ip[:20])))
		ps = inet.Sum(0, ip[12:20])
	}
	tcp := ip[ipl:]
	binary.BigEndian.PutUint16(tcp[0:], 80)
	binary.BigEndian.PutUint16(tcp[2:], 5555)
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	tcp[12], tcp[13] = 5<<4, 0x18 // ACK|PSH
	for i := range n {
		tcp[20+i] = byte(i * 7)
	}
	ps += 6 + uint32(20+n)
	if partial {
		binary.BigEndian.PutUint16(tcp[16:], inet.Fold(ps))
	} else {
		binary.BigEndian.PutUint16(tcp[16:], ^inet.Fold(inet.Sum(ps, tcp)))
	}
	return f
}

// tcpOffload is the txframe offload request for tcpFrame.
func tcpOffload(v6 bool, mss int) txframe.Offload {
	l4 := 14 + 20
	if v6 {
		l4 = 14 + 40
	}
	return txframe.Offload{L4: txframe.L4TCP, IPv6: v6, L3Start: 14, L4Start: uint16(l4), MSS: uint16(mss), HeaderLen: uint16(l4 + 20)}
}

// tcpPayload concatenates the TCP payloads of frames (IPv4 or IPv6).
func tcpPayload(frames [][]byte) []byte {
	var p []byte
	for _, f := range frames {
		l4 := 14 + 20
		if binary.BigEndian.Uint16(f[12:]) == 0x86DD {
			l4 = 14 + 40
		}
		p = append(p, f[l4+int(f[l4+12]>>4)*4:]...)
	}
	return p
}

// tcpChecksumOK verifies a frame's TCP checksum.
func tcpChecksumOK(f []byte) bool {
	var ps uint32
	l4 := 14 + 20
	if binary.BigEndian.Uint16(f[12:]) == 0x86DD {
		l4 = 14 + 40
		ps = inet.Sum(0, f[14+8:14+40])
	} else {
		ps = inet.Sum(0, f[14+12:14+20])
	}
	ps += 6 + uint32(len(f)-l4)
	return inet.Fold(inet.Sum(ps, f[l4:])) == 0xFFFF
}

func equalFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
