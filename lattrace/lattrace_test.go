package lattrace

import (
	"sync"
	"sync/atomic"
	"testing"
)

func counter() func() uint64 {
	var c atomic.Uint64
	return func() uint64 { return c.Add(1) }
}

func TestOffByDefaultAndRing(t *testing.T) {
	Stop()
	Record(KindIRQ, 1) // off: nothing, no panic without a ring
	Start(1000, counter())
	defer Stop()
	if s := ReadStats(); !s.On || s.Size != 1024 || s.Recorded != 0 {
		t.Fatalf("after Start: %+v", s)
	}
	for i := range 1500 {
		Record(KindRx, uint32(i))
	}
	got, lost := Snapshot(nil)
	if len(got) != 1024 || lost != 1500-1024 {
		t.Fatalf("%d events, %d lost; want the last 1024 and 476 lost", len(got), lost)
	}
	for i, e := range got {
		if e.Kind != KindRx || e.Arg != uint32(1500-1024+i) {
			t.Fatalf("event %d: %+v", i, e)
		}
		if i > 0 && e.Time <= got[i-1].Time {
			t.Fatalf("event %d: time %d not after %d", i, e.Time, got[i-1].Time)
		}
	}
	Stop()
	Record(KindRx, 0)
	if s := ReadStats(); s.On || s.Recorded != 1500 {
		t.Errorf("after Stop: %+v", s)
	}
}

// Recording while a reader copies: no torn event comes out (run with -race).
func TestConcurrentSnapshot(t *testing.T) {
	Start(1024, counter())
	defer Stop()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20000 {
				// Arg carries the writer in its top byte and the kind's
				// own check in the rest.
				Record(KindDeliver, uint32(w)<<24|uint32(i)&0xFFFFFF)
			}
		}()
	}
	var buf []Event
	for range 50 {
		var lost uint64
		buf, lost = Snapshot(buf)
		for _, e := range buf {
			if e.Kind != KindDeliver || e.Arg>>24 > 3 || e.Time == 0 {
				t.Fatalf("torn event %+v (%d lost)", e, lost)
			}
		}
	}
	wg.Wait()
}

func TestRecordDoesNotAllocate(t *testing.T) {
	Start(1024, counter())
	defer Stop()
	if n := testing.AllocsPerRun(1000, func() { Record(KindTxDoorbell, 3) }); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
	Stop()
	if n := testing.AllocsPerRun(1000, func() { Record(KindTxDoorbell, 3) }); n != 0 {
		t.Errorf("Record allocates %v times per call when off", n)
	}
}

func TestKindNames(t *testing.T) {
	for _, k := range Kinds() {
		if k.String() == "" || k.String()[0] == 'k' {
			t.Errorf("kind %d has no name", k)
		}
	}
}
