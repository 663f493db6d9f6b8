package pktgen_test

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
	"time"

	"tamanet/pktgen"
)

// marker is an end marker from the tap.
func marker() []byte {
	f := make([]byte, 60)
	copy(f, guestMAC[:])
	copy(f[6:], tapMAC[:])
	binary.BigEndian.PutUint16(f[12:], pktgen.MarkerEtherType)
	copy(f[14:], pktgen.MarkerText)
	return f
}

// sinkFrame is a frame of size bytes to the guest.
func sinkFrame(size int) []byte {
	f := make([]byte, size)
	copy(f, guestMAC[:])
	copy(f[6:], tapMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	return f
}

// startSink starts n's sink with its reports on a channel.
func startSink(t *testing.T, n *nic) <-chan pktgen.SinkReport {
	reports := make(chan pktgen.SinkReport, 16)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	n.gen.StartSink(func(r pktgen.SinkReport) { reports <- r }, stop)
	return reports
}

// feed hands count frames to the device, each retried until the device
// has a buffer for it (the poll loop frees them), and returns how many
// times a frame found the ring full.
func feed(t *testing.T, n *nic, frame []byte, count int) (refused int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < count; i++ {
		for !n.receive(frame) {
			refused++
			if time.Now().After(deadline) {
				t.Fatalf("the device took %d of %d frames in 30 s", i, count)
			}
			runtime.Gosched()
		}
	}
	return refused
}

// endInterval sends markers, as the host does, until a report with
// frames arrives (an empty one is a late marker's, of the interval after
// the one it ended), and says how many the device refused.
func endInterval(t *testing.T, n *nic, reports <-chan pktgen.SinkReport) (r pktgen.SinkReport, refused int) {
	t.Helper()
	m := marker()
	for range 300 {
		if !n.receive(m) { // lost, the ring full: the next one ends it
			refused++
		}
		select {
		case r := <-reports:
			t.Log(r)
			if r.Frames != 0 {
				return r, refused
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatal("no sink report after 300 markers")
	return r, refused
}

// drainEmpty takes the reports of markers that arrived after the one that
// ended an interval: empty intervals, frames=0.
func drainEmpty(t *testing.T, reports <-chan pktgen.SinkReport) {
	t.Helper()
	for {
		select {
		case r := <-reports:
			if r.Frames != 0 || r.Elapsed != 0 {
				t.Errorf("interval after the end marker: %v", r)
			}
		default:
			return
		}
	}
}

func TestSinkE1000(t *testing.T) {
	n, _, _ := newE1000(t)
	reports := startSink(t, n)
	for round, size := range []int{60, 1514} {
		const count = 20000
		refused := feed(t, n, sinkFrame(size), count)
		r, markersRefused := endInterval(t, n, reports)
		if r.Frames != count || r.Bytes != count*uint64(size) || r.Delta.RxErrors != 0 {
			t.Errorf("round %d: fed %d frames of %d bytes: %+v", round, count, size, r)
		}
		// GPRC counts the marker too (one, or more if an earlier one was
		// late); MPC each refusal (of a marker too, which may fall in
		// the next interval if it came after the registers were read).
		if r.Delta.DevRxFrames < count+1 || r.Delta.DevRxMissed < uint64(refused) || r.Delta.DevRxMissed > uint64(refused+markersRefused) {
			t.Errorf("round %d: device counted %d frames, %d missed; fed %d, refused %d", round, r.Delta.DevRxFrames, r.Delta.DevRxMissed, count, refused)
		}
		drainEmpty(t, reports)
		if !strings.HasPrefix(r.String(), "PKTGEN sink frames=20000 ") {
			t.Errorf("line %q", r)
		}
	}
}

func TestSinkVirtio(t *testing.T) {
	n, _, _ := newVirtio(t)
	reports := startSink(t, n)
	const count = 20000
	feed(t, n, sinkFrame(1514), count)
	r, _ := endInterval(t, n, reports)
	if r.Frames != count || r.Bytes != count*1514 {
		t.Errorf("fed %d frames: %+v", count, r)
	}
	if !strings.Contains(r.String(), " dev_frames=-1 dev_bytes=-1 dev_missed=-1 errors=0") {
		t.Errorf("line %q", r)
	}
}

// A marker the device had no room for is lost like any frame; the next
// one ends the interval, which holds everything that came before it.
func TestSinkLostMarker(t *testing.T) {
	n, _, _ := newE1000(t)
	reports := startSink(t, n)
	fed := 0
	lost := false
	// Without waiting for the poll loop the ring fills up, and a marker
	// sent then is refused.
	for i := 0; i < 100000 && !lost; i++ {
		if n.receive(sinkFrame(60)) {
			fed++
			continue
		}
		if lost = !n.receive(marker()); !lost {
			// The poll loop made room meanwhile: that marker ended
			// an interval. Start over.
			select {
			case r := <-reports:
				if r.Frames != uint64(fed) {
					t.Fatalf("fed %d frames before a marker, the interval holds %d", fed, r.Frames)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no report for a marker the device took")
			}
			fed = 0
		}
	}
	if !lost {
		t.Skip("the poll loop kept the ring from filling up")
	}
	r, _ := endInterval(t, n, reports)
	if r.Frames != uint64(fed) {
		t.Errorf("fed %d frames before the lost marker, the interval holds %d", fed, r.Frames)
	}
	drainEmpty(t, reports)
	// The next interval starts at that marker.
	feed(t, n, sinkFrame(100), 10)
	if r, _ := endInterval(t, n, reports); r.Frames != 10 || r.Bytes != 1000 {
		t.Errorf("second interval %+v", r)
	}
}
