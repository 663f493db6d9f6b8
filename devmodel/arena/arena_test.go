package arena

import (
	"errors"
	"testing"
)

func TestArenaAlloc(t *testing.T) {
	a := New(64 << 10)
	b1, addr1, err := a.Alloc(100, 1)
	if err != nil || addr1 != Base || len(b1) != 100 || cap(b1) != 100 {
		t.Fatalf("first Alloc: addr %#x len %d cap %d err %v", addr1, len(b1), cap(b1), err)
	}
	b2, addr2, err := a.Alloc(256, 128)
	if err != nil || addr2%128 != 0 || addr2 < addr1+100 {
		t.Fatalf("aligned Alloc: addr %#x err %v", addr2, err)
	}
	b2[0] = 0xAB
	if got, ok := a.Bytes(addr2, 1); !ok || got[0] != 0xAB {
		t.Fatal("Bytes does not see the allocation")
	}
	if _, ok := a.Bytes(addr2+256, 1); ok {
		t.Fatal("Bytes past the last allocation succeeded")
	}
	if _, ok := a.Bytes(Base-1, 2); ok {
		t.Fatal("Bytes below the arena succeeded")
	}
	if _, ok := a.Bytes(^uint64(0)-1, 4); ok {
		t.Fatal("Bytes with a wrapping address succeeded")
	}

	a.FailNext(2)
	for i := range 2 {
		if _, _, err := a.Alloc(16, 16); !errors.Is(err, ErrInjected) {
			t.Fatalf("injected failure %d: err %v", i, err)
		}
	}
	if _, _, err := a.Alloc(16, 16); err != nil {
		t.Fatalf("Alloc after injected failures: %v", err)
	}
	if _, _, err := a.Alloc(64<<10, 1); !errors.Is(err, ErrFull) {
		t.Fatalf("oversized Alloc: err %v", err)
	}
	for _, bad := range [][2]int{{0, 1}, {-1, 1}, {16, 3}, {16, -2}} {
		if _, _, err := a.Alloc(bad[0], bad[1]); !errors.Is(err, ErrArgs) {
			t.Errorf("Alloc(%d, %d): err %v", bad[0], bad[1], err)
		}
	}
	if allocs, failures := a.Counts(); allocs != 3 || failures != 7 {
		t.Errorf("Counts: %d allocs, %d failures; want 3 and 7", allocs, failures)
	}
}

// TestArenaMap: a mapping reads the lent buffer through its bus address
// until Unmap; a stale or foreign Unmap is counted and changes nothing.
func TestArenaMap(t *testing.T) {
	a := New(4096)
	buf := []byte("lent to the device")
	bus, ok := a.Map(buf)
	if !ok || bus < MapBase {
		t.Fatalf("Map: %#x %v", bus, ok)
	}
	if b, ok := a.Bytes(bus+5, 2); !ok || string(b) != "to" {
		t.Fatalf("Bytes in the mapping: %q %v", b, ok)
	}
	if _, ok := a.Bytes(bus, len(buf)+1); ok {
		t.Fatal("Bytes past the mapping succeeded")
	}
	a.Unmap(bus, len(buf))
	if _, ok := a.Bytes(bus, 1); ok {
		t.Fatal("Bytes after Unmap succeeded")
	}
	a.Unmap(bus, len(buf))
	a.Unmap(Base, 1)
	if maps, unmaps, bad := a.Maps(); maps != 1 || unmaps != 1 || bad != 2 {
		t.Errorf("maps %d unmaps %d bad %d", maps, unmaps, bad)
	}
	if _, ok := a.Map(nil); ok {
		t.Error("empty buffer mapped")
	}
}
