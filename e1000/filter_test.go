package e1000

import (
	"errors"
	"math/rand/v2"
	"testing"

	"tamanet/e1000/model"
)

// TestMTAHashMatchesModel compares the driver's hash with the model's, which
// is written from the manual independently (bits 47:36 of the address).
func TestMTAHashMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		var a [6]byte
		for i := range a {
			a[i] = byte(rng.Uint32())
		}
		if h, w := mtaHash(a), model.MTAHash(a, 0); h != w {
			t.Fatalf("mtaHash(%s) = %#x, model says %#x", macString(a), h, w)
		}
	}
	// 01:00:5e:00:00:fb: byte 5 = 0xfb, high nibble of byte 4 = 0.
	if h := mtaHash(group); h != 0xFB0 {
		t.Errorf("mtaHash(mDNS group) = %#x, want 0xfb0", h)
	}
}

// sameHash returns a different group that hashes like a.
func sameHash(a [6]byte) [6]byte {
	b := a
	b[3] ^= 0x55 // bits outside 47:36
	b[4] ^= 0x0F
	return b
}

func TestMulticastFilter(t *testing.T) {
	r := newRig(t, Config{})
	other := [6]byte{0x01, 0x00, 0x5E, 0x00, 0x00, 0x01}
	twin := sameHash(group)
	accepted := func(dst [6]byte) bool {
		t.Helper()
		before := r.m.Stats().RxFiltered
		r.receive(frame(dst, 100, 0))
		return r.m.Stats().RxFiltered == before
	}
	if accepted(group) {
		t.Fatal("group accepted before AddMulticast")
	}
	if err := r.d.AddMulticast(group); err != nil {
		t.Fatal(err)
	}
	if err := r.d.AddMulticast(group); err != nil {
		t.Errorf("adding twice: %v", err)
	}
	if !accepted(group) || accepted(other) {
		t.Error("after AddMulticast: want the group accepted, another filtered")
	}
	if err := r.d.AddMulticast(twin); err != nil {
		t.Fatal(err)
	}
	if err := r.d.RemoveMulticast(group); err != nil {
		t.Fatal(err)
	}
	if !accepted(twin) {
		t.Error("removing a group cleared the hash bit its twin still needs")
	}
	if err := r.d.RemoveMulticast(twin); err != nil {
		t.Fatal(err)
	}
	if accepted(group) || accepted(twin) {
		t.Error("groups still accepted after removal")
	}
	for i := range uint32(MTASize) {
		if v := r.m.Read32(MTA + 4*i); v != 0 {
			t.Errorf("MTA[%d] = %#x with no groups", i, v)
		}
	}
	if err := r.d.RemoveMulticast(group); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing an absent group: %v", err)
	}
	if err := r.d.AddMulticast(peerMAC); !errors.Is(err, ErrNotMulticast) {
		t.Errorf("adding a unicast address: %v", err)
	}
	r.drain()
	if len(r.rx) != 2 {
		t.Errorf("delivered %d frames, want the 2 accepted", len(r.rx))
	}
}

func TestMulticastListFull(t *testing.T) {
	r := newRig(t, Config{})
	for i := range maxMulticast {
		if err := r.d.AddMulticast([6]byte{0x01, 0, 0x5E, 0, byte(i >> 8), byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.d.AddMulticast([6]byte{0x01, 0, 0x5E, 1, 0, 0}); !errors.Is(err, ErrFilterFull) {
		t.Errorf("over the limit: %v", err)
	}
}

func TestPromiscuousAndMAC(t *testing.T) {
	r := newRig(t, Config{})
	stranger := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	filtered := r.m.Stats().RxFiltered
	r.receive(frame(stranger, 100, 1))
	r.d.SetPromiscuous(true)
	r.receive(frame(stranger, 100, 2), frame(anotherGroup(), 100, 3))
	r.d.SetPromiscuous(false)
	r.receive(frame(stranger, 100, 4))
	if got := r.m.Stats().RxFiltered - filtered; got != 2 {
		t.Errorf("model filtered %d frames, want 2 (outside promiscuous mode)", got)
	}
	if err := r.d.SetMAC(stranger); err != nil {
		t.Fatal(err)
	}
	r.receive(frame(stranger, 100, 5), frame(testMAC, 100, 6))
	r.drain()
	var seqs []byte
	for _, f := range r.rx {
		seqs = append(seqs, f[17])
	}
	if string(seqs) != "\x02\x03\x05" {
		t.Errorf("delivered sequences %v, want [2 3 5]", seqs)
	}
	for _, bad := range [][6]byte{{}, {0x01, 2, 3, 4, 5, 6}, broadcast} {
		if err := r.d.SetMAC(bad); !errors.Is(err, ErrBadMAC) {
			t.Errorf("SetMAC(%s): %v", macString(bad), err)
		}
	}
	if r.d.MAC() != stranger {
		t.Error("a refused SetMAC changed the address")
	}
}

// anotherGroup is a multicast address no test adds.
func anotherGroup() [6]byte { return [6]byte{0x01, 0x00, 0x5E, 0x7F, 0x00, 0x01} }
