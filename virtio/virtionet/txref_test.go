package virtionet

import (
	"bytes"
	"testing"

	"tamanet/devmodel/arena"
	"tamanet/txframe"
	"tamanet/txframe/txtest"
	"tamanet/virtio/virtionet/model"
)

// held is txtest.Held with the frames r's device sent counted at the
// first release.
func held(r *rig, f []byte, o txframe.Offload, sizes ...int) (txframe.Frame, *txtest.Holder) {
	return txtest.Held(f, o, func() int { return len(r.wire) }, sizes...)
}

// checkLoans: every mapping and hold r's driver took was ended.
func checkLoans(t *testing.T, r *rig) {
	t.Helper()
	s := r.d.Stats().TX
	txtest.CheckLoans(t, r.mem, s.Holds, s.Releases)
}

// TestTransmitInPlace: frames whose parts the device reads in place reach
// it exactly as the same frames copied (header and GSO fields included),
// on a modern device and on a legacy one that wants the header in a
// descriptor of its own; each hold is released once, after the device has
// used the chain.
func TestTransmitInPlace(t *testing.T) {
	type tc struct {
		name  string
		f     []byte
		o     txframe.Offload
		sizes []int
		place bool // some part goes in place
	}
	offloads := []tc{
		{"tso4", tcpFrame(60000, false, true), tcpOffload(false, 1448), []int{54, 3000, 100, 20000}, true},
		{"tso6 header in payload part", tcpFrame(30000, true, true), tcpOffload(true, 1440), []int{8074}, true},
		{"checksum", tcpFrame(1400, false, true), tcpOffload(false, 0), []int{54}, true},
		{"too many parts", tcpFrame(6000, false, true), tcpOffload(false, 1448), []int{54, 600, 100, 600, 100, 600, 100, 600, 100, 600}, false},
	}
	plain := []tc{
		{"plain", udpFrame(1400, 1), txframe.Offload{}, []int{42}, true},
		{"plain mixed", udpFrame(1400, 2), txframe.Offload{}, []int{42, 600, 100}, true},
		{"plain small", udpFrame(100, 3), txframe.Offload{}, []int{42}, false},
	}
	for _, dev := range []struct {
		name, kind string
		mcfg       model.Config
		cases      []tc
	}{
		{"modern", "pci-modern", model.Config{}, append(offloads, plain...)},
		{"legacy-split-header", "pci-legacy", model.Config{Features: model.F_MAC}, plain},
	} {
		t.Run(dev.name, func(t *testing.T) {
			copied, inPlace := newRigOn(t, dev.kind, dev.mcfg, Config{}), newRigOn(t, dev.kind, dev.mcfg, Config{})
			var frames []txframe.Frame
			var holds []*txtest.Holder
			for _, c := range dev.cases {
				if k := copied.d.Transmit([]txframe.Frame{{Parts: [][]byte{c.f}, Offload: c.o}}); k != 1 {
					t.Fatalf("%s: copy not taken", c.name)
				}
				f, h := held(inPlace, c.f, c.o, c.sizes...)
				frames, holds = append(frames, f), append(holds, h)
			}
			if k := inPlace.d.Transmit(frames); k != len(frames) {
				t.Fatalf("took %d of %d", k, len(frames))
			}
			// The next poll reclaims what the device used.
			copied.d.txClean()
			inPlace.d.txClean()
			if len(inPlace.wire) != len(copied.wire) || len(copied.wire) != len(dev.cases) {
				t.Fatalf("%d frames sent in place, %d copied", len(inPlace.wire), len(copied.wire))
			}
			places := 0
			for i, c := range dev.cases {
				if !bytes.Equal(inPlace.wire[i].frame, copied.wire[i].frame) || inPlace.wire[i].hdr != copied.wire[i].hdr {
					t.Errorf("%s: differs in place", c.name)
				}
				h := holds[i]
				if h.Releases != 1 {
					t.Errorf("%s: released %d times", c.name, h.Releases)
				}
				if c.place {
					places++
					if h.SeenAtRelease != len(dev.cases) {
						t.Errorf("%s: released with %d of %d frames sent", c.name, h.SeenAtRelease, len(dev.cases))
					}
				}
			}
			if s := inPlace.d.Stats().TX; s.InPlace != uint64(places) {
				t.Errorf("in place %d frames, want %d: %+v", s.InPlace, places, s)
			}
			checkLoans(t, inPlace)
		})
	}
}

// TestTransmitInPlaceReleasedOnReset: chains the device never used are
// released exactly once when the watchdog resets it, and held frames
// offered without carrier at once.
func TestTransmitInPlaceReleasedOnReset(t *testing.T) {
	r := &rig{t: t, mem: arena.New(32 << 20)}
	r.m = model.New(model.Config{Memory: r.mem, MAC: testMAC, IRQ: func() { r.d.HandleInterrupt() }})
	qt := &quietTransport{Transport: transport(t, r.m), quiet: true} // the device never gets round to the queue
	d, err := New(qt, r.mem, Config{})
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	var holds []*txtest.Holder
	var frames []txframe.Frame
	for range 3 {
		f, h := held(r, tcpFrame(9000, false, true), tcpOffload(false, 1448), 54)
		frames, holds = append(frames, f), append(holds, h)
	}
	if k := r.d.Transmit(frames); k != 3 {
		t.Fatalf("took %d", k)
	}
	r.d.txClean()
	if maps, unmaps, _ := r.mem.Maps(); maps != 3 || unmaps != 0 || holds[0].Releases != 0 {
		t.Fatalf("before the reset: %d mapped, %d unmapped, %d released", maps, unmaps, holds[0].Releases)
	}
	r.m.SetNeedsReset()
	if err := r.d.Watchdog(); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Watchdog(); err != nil {
		t.Fatal(err)
	}
	if s := r.d.Stats(); s.Device.Resets != 1 || s.TX.DropReset != 3 {
		t.Fatalf("resets %d, dropped %d", s.Device.Resets, s.TX.DropReset)
	}
	for i, h := range holds {
		if h.Releases != 1 {
			t.Errorf("frame %d released %d times", i, h.Releases)
		}
	}
	r.m.SetLink(false)
	f, h := held(r, tcpFrame(9000, false, true), tcpOffload(false, 1448), 54)
	if k := r.d.Transmit([]txframe.Frame{f}); k != 1 || h.Releases != 1 || r.d.Stats().TX.DropNoCarrier != 1 {
		t.Errorf("without carrier: took %d, released %d, %+v", k, h.Releases, r.d.Stats().TX)
	}
	checkLoans(t, r)
}

// TestTransmitInPlaceMapRefused: a part the mapper refuses drops its frame
// (counted, released, its other mappings and its memory given back) and
// the next frame goes as usual.
func TestTransmitInPlaceMapRefused(t *testing.T) {
	r := newRig(t, model.Config{}, Config{})
	r.d.mapper = &txtest.RefusingMapper{Mapper: r.d.mapper, OK: 1}
	bad, h := held(r, tcpFrame(20000, false, true), tcpOffload(false, 1448), 54, 8000, 100)
	if k := r.d.Transmit([]txframe.Frame{bad}); k != 1 {
		t.Fatalf("took %d", k)
	}
	s := r.d.Stats().TX
	if s.DropMap != 1 || s.Queued != 0 || h.Releases != 1 || r.d.txMem.used != 0 || r.d.txq.InFlight() != 0 {
		t.Errorf("refused frame: released %d, arena pieces %d, %+v", h.Releases, r.d.txMem.used, s)
	}
	r.d.mapper = r.d.mapper.(*txtest.RefusingMapper).Mapper
	good, h2 := held(r, tcpFrame(20000, false, true), tcpOffload(false, 1448), 54)
	if k := r.d.Transmit([]txframe.Frame{good}); k != 1 {
		t.Fatalf("took %d", k)
	}
	r.d.txClean() // as the next poll does
	if len(r.wire) != 1 || h2.Releases != 1 {
		t.Errorf("%d frames sent, released %d", len(r.wire), h2.Releases)
	}
	checkLoans(t, r)
}
