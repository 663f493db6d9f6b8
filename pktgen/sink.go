package pktgen

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// Marker is how the sender ends a measurement: an Ethernet frame of
// MarkerEtherType whose payload starts with MarkerText.
const (
	MarkerEtherType = 0x88B5
	MarkerText      = "TAMANET-SINK-END"
)

// IsMarker reports whether frame is an end marker.
func IsMarker(frame []byte) bool {
	return len(frame) >= ethLen+len(MarkerText) &&
		binary.BigEndian.Uint16(frame[12:]) == MarkerEtherType &&
		string(frame[ethLen:ethLen+len(MarkerText)]) == MarkerText
}

// SinkReport is one measurement of the sink: what arrived between two end
// markers (or since the sink started).
type SinkReport struct {
	// Frames and Bytes count the frames the driver delivered, markers
	// not included.
	Frames, Bytes uint64
	// Elapsed is from the interval's first frame to its last (not to the
	// marker, which the sender may send a while after its burst); zero
	// for an interval with fewer than two frames.
	Elapsed time.Duration
	// Delta is what the driver and the device counted from the previous
	// report up to this one's: the device's registers are read when the
	// line is made, shortly after the marker, and count markers too.
	Delta Counters
}

// String is the console line PKTGEN sink (ParseSink reads it).
func (r SinkReport) String() string {
	return fmt.Sprintf(Tag+EventSink+" frames=%d bytes=%d seconds=%.3f dev_frames=%d dev_bytes=%d dev_missed=%d errors=%d",
		r.Frames, r.Bytes, r.Elapsed.Seconds(),
		r.Delta.dev(r.Delta.DevRxFrames), r.Delta.dev(r.Delta.DevRxBytes), r.Delta.dev(r.Delta.DevRxMissed), r.Delta.RxErrors)
}

// interval is what the receive upcall counted between two markers.
type interval struct {
	frames, bytes uint64
	first, last   time.Time
}

// sink is the receive side. cur belongs to the driver's receive upcall,
// which the poll loop calls from one goroutine; ended carries finished
// intervals to the reporter.
type sink struct {
	cur   interval
	ended chan interval
	// merged counts intervals that found ended full: kept counting, so
	// the next line covers them too.
	merged atomic.Uint64
}

// endedQueue is how many finished intervals wait for the reporter.
const endedQueue = 64

func (s *sink) init() { s.ended = make(chan interval, endedQueue) }

// receive is the driver's rx upcall: count and drop, without allocating
// or copying; a marker ends the interval.
func (s *sink) receive(frame []byte, _ bool) {
	if IsMarker(frame) {
		select {
		case s.ended <- s.cur:
			s.cur = interval{}
		default:
			s.merged.Add(1)
		}
		return
	}
	s.cur.last = time.Now()
	if s.cur.frames == 0 {
		s.cur.first = s.cur.last
	}
	s.cur.frames++
	s.cur.bytes += uint64(len(frame))
}

// StartSink reads the NIC's counters, as the start of the first interval,
// and reports each interval the markers end from a goroutine of its own,
// which runs until stop is closed.
func (g *Gen) StartSink(report func(SinkReport), stop <-chan struct{}) {
	prev := g.counters()
	go func() {
		for {
			select {
			case iv := <-g.sink.ended:
				now := g.counters()
				r := SinkReport{Frames: iv.frames, Bytes: iv.bytes, Delta: now.sub(prev), Elapsed: iv.last.Sub(iv.first)}
				prev = now
				report(r)
			case <-stop:
				return
			}
		}
	}()
}
