package pktgen

import (
	"fmt"
	"runtime"
	"time"
)

// TxSpec is one transmit run.
type TxSpec struct {
	// Mode is ModeTx or ModeTSO.
	Mode Mode
	// Size is, for ModeTx, the frame's length without FCS (60 to MTU+14)
	// and, for ModeTSO, the TCP payload of each super-frame (up to what
	// the driver's TSO takes); zero means the default (1514, DefaultTSOPayload).
	Size int
	// Duration is how long to keep the ring full.
	Duration time.Duration
	Flow     Flow
	// LinkWait bounds the wait for the carrier before the first frame;
	// zero means 10 s.
	LinkWait time.Duration
}

// TxReport is what one transmit run sent.
type TxReport struct {
	Mode Mode
	// Size is the run's frame length (tx) or super-frame payload (tso).
	Size int
	// Frames and Bytes are what the driver accepted (a super-frame counts
	// once); WireFrames and WireBytes what that is on the wire (TSO
	// segments with their headers; no FCS).
	Frames, Bytes, WireFrames, WireBytes uint64
	// Elapsed is from the first frame offered to the last.
	Elapsed time.Duration
	// Delta is what the driver and the device counted meanwhile.
	Delta Counters
}

// String is the console line PKTGEN done (ParseDone reads it).
func (r TxReport) String() string {
	return fmt.Sprintf(Tag+EventDone+" mode=%s frames=%d bytes=%d wire_frames=%d wire_bytes=%d seconds=%.3f dev_frames=%d dev_bytes=%d drops=%d",
		r.Mode, r.Frames, r.Bytes, r.WireFrames, r.WireBytes, r.Elapsed.Seconds(),
		r.Delta.dev(r.Delta.DevTxFrames), r.Delta.dev(r.Delta.DevTxBytes), r.Delta.TxDrops)
}

// Transmit keeps the driver's transmit ring full of spec's frames for
// spec.Duration and reports what went out. started is called with the
// start line just before the first frame is offered. When the ring is
// full it waits for the driver's txReady rather than spinning, and after
// a batch taken whole it yields, so the poll loop and the interrupt
// goroutines run between batches on a single CPU.
func (g *Gen) Transmit(spec TxSpec, started func(line string)) (TxReport, error) {
	p, err := g.plan(spec)
	if err != nil {
		return TxReport{}, err
	}
	wait := spec.LinkWait
	if wait == 0 {
		wait = 10 * time.Second
	}
	if err := g.waitLink(wait); err != nil {
		return TxReport{}, err
	}
	if started != nil {
		started(StartLine(p.mode, p.size))
	}
	before := g.counters()
	deadline := time.NewTimer(spec.Duration)
	defer deadline.Stop()
	// A stale poke would only cost one Transmit that finds the ring full.
	select {
	case <-g.wake:
	default:
	}
	var accepted uint64
	t0 := time.Now()
	for running := true; running; {
		n := g.d.Transmit(p.batch)
		accepted += uint64(n)
		select {
		case <-deadline.C:
			running = false
			continue
		default:
		}
		if n < len(p.batch) {
			select {
			case <-g.wake:
			case <-deadline.C:
				running = false
			}
			continue
		}
		runtime.Gosched()
	}
	elapsed := time.Since(t0)
	delta := g.counters().sub(before)
	frames := accepted - min(delta.TxDrops, accepted)
	return TxReport{
		Mode: p.mode, Size: p.size,
		Frames: frames, Bytes: frames * uint64(p.frameBytes),
		WireFrames: frames * uint64(p.wireFrames), WireBytes: frames * uint64(p.wireBytes),
		Elapsed: elapsed, Delta: delta,
	}, nil
}
