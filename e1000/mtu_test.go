package e1000

import (
	"bytes"
	"errors"
	"testing"

	"tamanet/e1000/model"
)

// TestJumboFrames runs the device at MTU 9000: long packets enabled into
// 16 KiB receive buffers, a 9018-byte frame (a VLAN tag's worth over MTU +
// header) received whole, one byte more dropped as oversize, and a
// 9014-byte frame sent across five transmit buffers.
func TestJumboFrames(t *testing.T) {
	r := newRig(t, Config{MTU: 9000, RxDescriptors: 16, TxDescriptors: 16})
	if v, want := r.m.Read32(RCTL), uint32(RCTL_LPE|RCTL_BSEX|RCTL_BSIZE_16384_BSEX); v&(RCTL_LPE|RCTL_BSEX|3<<16) != want {
		t.Errorf("RCTL %#x: want LPE and 16 KiB buffers", v)
	}
	if r.d.MTU() != 9000 {
		t.Errorf("MTU %d", r.d.MTU())
	}
	big, over := frame(testMAC, 9018, 1), frame(testMAC, 9019, 2)
	r.receive(big, over)
	r.drain()
	if len(r.rx) != 1 || !bytes.Equal(r.rx[0], big) {
		t.Fatalf("received %d frames, want the 9018-byte one", len(r.rx))
	}
	if s := r.d.Stats().RX; s.DropOversize != 1 {
		t.Errorf("rx stats %+v: want the 9019-byte frame dropped as oversize", s)
	}
	out := frame(peerMAC, 9014, 3)
	if n := r.transmit(out, frame(peerMAC, 9015, 4)); n != 2 {
		t.Fatalf("Transmit took %d", n)
	}
	if len(r.wire) != 1 || !bytes.Equal(r.wire[0], out) {
		t.Fatalf("%d frames on the wire, want the 9014-byte one", len(r.wire))
	}
	if s := r.d.Stats().TX; s.DropOversize != 1 || s.Descriptors != 5 {
		t.Errorf("tx stats %+v: want one oversize drop, five descriptors", s)
	}
}

// TestDefaultMTU keeps 2 KiB receive buffers and long packets off, and
// still takes a VLAN-sized frame (the model refuses longer ones, as the
// device does without LPE).
func TestDefaultMTU(t *testing.T) {
	r := newRig(t, Config{})
	if v := r.m.Read32(RCTL); v&(RCTL_LPE|RCTL_BSEX|3<<16) != RCTL_BSIZE_2048 {
		t.Errorf("RCTL %#x: want 2 KiB buffers, no LPE", v)
	}
	r.receive(frame(testMAC, 1518, 1))
	r.drain()
	if s := r.d.Stats().RX; s.Packets != 1 {
		t.Errorf("rx stats %+v", s)
	}
}

func TestMTUConfigErrors(t *testing.T) {
	for _, mtu := range []int{-1, MinMTU - 1, MaxMTU + 1} {
		m := model.New(model.Config{MAC: testMAC})
		if _, err := New(m, m.DMA(), Config{MTU: mtu}); !errors.Is(err, ErrConfig) {
			t.Errorf("MTU %d: %v, want ErrConfig", mtu, err)
		}
		m.Close()
	}
	for _, c := range []struct{ mtu, buf int }{{MinMTU, 2048}, {1500, 2048}, {2000, 2048}, {2100, 4096}, {8000, 8192}, {9000, 16384}, {MaxMTU, 16384}} {
		if got, _, _ := rxBuffers(c.mtu); got != c.buf {
			t.Errorf("MTU %d: %d-byte receive buffers, want %d", c.mtu, got, c.buf)
		}
	}
}
