package e1000

import (
	"bytes"
	"testing"
	"time"

	"tamanet/txframe"
	"tamanet/txframe/txtest"
)

// held is txtest.Held with the wire of r counted at the first release.
func held(r *rig, f []byte, o txframe.Offload, sizes ...int) (txframe.Frame, *txtest.Holder) {
	return txtest.Held(f, o, func() int { return len(r.wire) }, sizes...)
}

// checkLoans: every mapping and hold r's driver took was ended.
func checkLoans(t *testing.T, r *rig) {
	t.Helper()
	s := r.d.Stats().TX
	txtest.CheckLoans(t, r.m.DMA(), s.Holds, s.Releases)
}

// TestTransmitInPlace: frames whose parts the device reads in place reach
// the wire exactly as the same frames copied (TSO segments, checksums,
// parts longer than a data descriptor, headers sharing a part with
// payload), and each hold is released once, after the device is done.
func TestTransmitInPlace(t *testing.T) {
	type tc struct {
		name  string
		f     []byte
		o     txframe.Offload
		sizes []int
		place bool // some part goes in place
	}
	cases := []tc{
		{"tso", tcpFrame(40000, 7, 0x18, 3), tcpOffload(1448), []int{66, 3000, 100, 17000, 300}, true},
		{"tso header in payload part", tcpFrame(20000, 9, 0x19, 4), tcpOffload(1448), []int{5066}, true},
		{"tso small parts only", tcpFrame(3000, 1, 0x10, 5), tcpOffload(1000), []int{66, 400, 400, 400, 400, 400, 400, 400}, false},
		// A frame that fits one slot buffer is copied: in place it would
		// take two descriptors.
		{"checksum", tcpFrame(1448, 3, 0x10, 6), tcpOffload(0), []int{66}, false},
		{"plain jumbo", udpFrame(peerMAC, 5000), txframe.Offload{}, []int{42}, true},
		{"plain small", frame(peerMAC, 60, 1), txframe.Offload{}, []int{14}, false},
	}
	copied, inPlace := newRig(t, Config{MTU: 9000}), newRig(t, Config{MTU: 9000})
	var frames []txframe.Frame
	var holds []*txtest.Holder
	for _, c := range cases {
		if k := copied.d.Transmit([]txframe.Frame{{Parts: [][]byte{c.f}, Offload: c.o}}); k != 1 {
			t.Fatalf("%s: copy not taken", c.name)
		}
		f, h := held(inPlace, c.f, c.o, c.sizes...)
		frames, holds = append(frames, f), append(holds, h)
	}
	if k := inPlace.d.Transmit(frames); k != len(frames) {
		t.Fatalf("took %d of %d", k, len(frames))
	}
	for i, c := range cases {
		if !c.place && holds[i].Releases != 1 {
			t.Errorf("%s: copied frame's hold released %d times at once", c.name, holds[i].Releases)
		}
	}
	copied.drain()
	inPlace.drain()
	if len(inPlace.wire) != len(copied.wire) {
		t.Fatalf("%d frames on the wire in place, %d copied", len(inPlace.wire), len(copied.wire))
	}
	for i := range copied.wire {
		if !bytes.Equal(inPlace.wire[i], copied.wire[i]) {
			t.Errorf("wire frame %d differs in place", i)
		}
	}
	places := 0
	for i, c := range cases {
		h := holds[i]
		if h.Releases != 1 {
			t.Errorf("%s: released %d times", c.name, h.Releases)
		}
		if c.place {
			places++
			if h.SeenAtRelease != len(inPlace.wire) {
				t.Errorf("%s: released with %d of %d frames on the wire", c.name, h.SeenAtRelease, len(inPlace.wire))
			}
		}
	}
	s := inPlace.d.Stats().TX
	if s.InPlace != uint64(places) || s.DescriptorsInPlace < s.InPlace+1 || s.Descriptors >= copied.d.Stats().TX.Descriptors {
		t.Errorf("in place: %+v; copied used %d descriptors", s, copied.d.Stats().TX.Descriptors)
	}
	checkLoans(t, inPlace)
}

// TestTransmitInPlaceReleasedOnReset: held frames the device never
// finished are released exactly once by the watchdog's reset, and not
// again by a later one; frames offered without carrier are released at
// once.
func TestTransmitInPlaceReleasedOnReset(t *testing.T) {
	r := newRig(t, Config{TxDescriptors: 64, TxTimeout: time.Second})
	r.m.Write32(TCTL, 0) // the transmitter hangs
	var holds []*txtest.Holder
	var frames []txframe.Frame
	for i := range 3 {
		f, h := held(r, tcpFrame(9000, uint32(i)*9000, 0x10, 1), tcpOffload(1448), 66)
		frames, holds = append(frames, f), append(holds, h)
	}
	if k := r.d.Transmit(frames); k != 3 {
		t.Fatalf("took %d", k)
	}
	r.drain()
	if maps, unmaps, _ := r.m.DMA().Maps(); maps != 3 || unmaps != 0 || holds[0].Releases != 0 {
		t.Fatalf("before the reset: %d mapped, %d unmapped, %d released", maps, unmaps, holds[0].Releases)
	}
	for range 3 {
		r.now = r.now.Add(time.Second)
		if err := r.d.Watchdog(); err != nil {
			t.Fatal(err)
		}
	}
	if s := r.d.Stats(); s.Device.Resets != 1 || s.TX.DropReset != 3 {
		t.Fatalf("resets %d, dropped %d", s.Device.Resets, s.TX.DropReset)
	}
	if err := r.d.Reset(); err != nil {
		t.Fatal(err)
	}
	for i, h := range holds {
		if h.Releases != 1 {
			t.Errorf("frame %d released %d times", i, h.Releases)
		}
	}

	// Carrier lost: dropped and released in Transmit.
	r.m.SetLink(false)
	f, h := held(r, tcpFrame(9000, 0, 0x10, 1), tcpOffload(1448), 66)
	if k := r.d.Transmit([]txframe.Frame{f}); k != 1 || h.Releases != 1 || r.d.Stats().TX.DropNoCarrier != 1 {
		t.Errorf("without carrier: took %d, released %d, %+v", k, h.Releases, r.d.Stats().TX)
	}
	checkLoans(t, r)
}

// TestTransmitInPlaceMapRefused: a part the mapper refuses drops its frame
// (counted, released, its other mappings ended) and leaves the ring as it
// was for the next frame.
func TestTransmitInPlaceMapRefused(t *testing.T) {
	r := newRig(t, Config{})
	r.d.mapper = &txtest.RefusingMapper{Mapper: r.d.mapper, OK: 1}
	bad, h := held(r, tcpFrame(20000, 0, 0x10, 1), tcpOffload(1448), 66, 8000, 100)
	good, h2 := held(r, tcpFrame(20000, 0, 0x10, 1), tcpOffload(1448), 66)
	if k := r.d.Transmit([]txframe.Frame{bad}); k != 1 {
		t.Fatalf("took %d", k)
	}
	s := r.d.Stats().TX
	if s.DropMap != 1 || s.Queued != 0 || h.Releases != 1 || s.Contexts != 0 {
		t.Errorf("refused frame: released %d, %+v", h.Releases, s)
	}
	r.d.mapper = r.d.mapper.(*txtest.RefusingMapper).Mapper
	if k := r.d.Transmit([]txframe.Frame{good}); k != 1 {
		t.Fatalf("took %d", k)
	}
	r.drain()
	if len(r.wire) != 14 || h2.Releases != 1 {
		t.Errorf("%d frames on the wire, released %d", len(r.wire), h2.Releases)
	}
	checkLoans(t, r)
}

func TestTransmitInPlaceZeroAllocs(t *testing.T) {
	r := newRig(t, Config{})
	r.m.SetTransmitHandler(func([]byte) {})
	f, _ := held(r, tcpFrame(30000, 1, 0x10, 1), tcpOffload(1448), 66, 10000)
	fs := []txframe.Frame{f}
	allocs := testing.AllocsPerRun(50, func() {
		if n := r.d.Transmit(fs); n != len(fs) {
			t.Fatalf("Transmit took %d", n)
		}
		r.drain()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per TSO frame in place", allocs)
	}
}
