package virtionet

import "testing"

// TestTxArena: pieces come out contiguous, wrap to the start when the end
// has no room, and memory comes back only when every older piece is done,
// whatever order the device finishes in.
func TestTxArena(t *testing.T) {
	a := newTxArena(make([]byte, 1000), 0x1000, 4)
	off1, p1 := a.alloc(300) // [0, 320)
	off2, p2 := a.alloc(300) // [320, 640)
	off3, p3 := a.alloc(300) // [640, 960)
	if off1 != 0 || off2 != 320 || off3 != 640 || a.fits(100) {
		t.Fatalf("offsets %d %d %d, fits(100) %v", off1, off2, off3, a.fits(100))
	}
	a.release(p2) // out of order: nothing comes back yet
	if a.fits(64) {
		t.Fatal("room before the oldest piece is done")
	}
	a.release(p1) // [0, 640) free; the end has 40 bytes, so wrap
	if off, _ := a.place(300); off != 0 || !a.fits(640) || a.fits(641) {
		t.Fatalf("after release: place(300) = %d, fits(640) %v", off, a.fits(640))
	}
	off4, p4 := a.alloc(600) // [0, 640)
	if off4 != 0 || a.fits(1) {
		t.Fatalf("wrapped piece at %d, full %v", off4, !a.fits(1))
	}
	a.release(p3)
	// Free: [640, 960), and the 40 bytes p3 wrapped past, which count
	// again once the tail wraps too.
	if !a.fits(320) || a.fits(321) {
		t.Fatalf("room after p3: fits(320) %v, fits(321) %v", a.fits(320), a.fits(321))
	}
	a.release(p4)
	if !a.fits(960) || a.used != 0 {
		t.Fatalf("empty arena: fits(960) %v, used %d", a.fits(960), a.used)
	}
	// The piece list bounds pieces too.
	for range 4 {
		a.alloc(10)
	}
	if a.fits(10) {
		t.Fatal("more pieces than the list holds")
	}
}
