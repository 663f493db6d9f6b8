package virtio_test

import (
	"testing"

	"tamanet/virtio"
)

// FuzzUsedEntries drives a queue with chains added by the driver and used
// entries of the fuzzer's choosing (ids, lengths, how many at once) and
// checks that no descriptor is lost or freed twice: whatever the device
// writes, free descriptors plus those in chains in flight are the queue.
func FuzzUsedEntries(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0x80, 0, 10, 0x81, 1, 200})
	f.Add([]byte{0x80, 7, 0xFF, 0x80, 0, 0, 0x80, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		tr := &fakeTransport{max: 8}
		q := newTestQueue(t, tr, 8, ops[0:min(len(ops), 1)] != nil && len(ops) > 0 && ops[0]&1 == 1)
		var usedIdx uint16
		inFlight := map[uint16]int{} // head -> descriptors
		for i := 0; i < len(ops); i++ {
			op := ops[i]
			switch {
			case op < 0x80: // add a chain of 1-3 buffers
				n := int(op%3) + 1
				bufs := make([]virtio.Buffer, n)
				for k := range bufs {
					bufs[k] = virtio.Buffer{Addr: uint64(k), Len: 100, Write: k > 0 || op&4 != 0}
				}
				h, err := q.Add(bufs...)
				if err == nil {
					if _, dup := inFlight[h]; dup {
						t.Fatalf("head %d handed out twice", h)
					}
					inFlight[h] = n
				}
				q.Kick()
			case i+2 < len(ops): // the device writes a used entry
				id, n := uint32(ops[i+1]), uint32(ops[i+2])*4
				if op&1 == 1 {
					id %= 8
				}
				i += 2
				tr.complete(usedIdx, id, n)
				usedIdx++
				u, ok := q.Get()
				if !ok {
					t.Fatal("used entry not seen")
				}
				if u.Err == nil || u.Err == virtio.ErrUsedLen {
					if _, was := inFlight[u.Head]; !was {
						t.Fatalf("freed head %d that was not in flight", u.Head)
					}
					delete(inFlight, u.Head)
				}
			}
			descs := 0
			for _, n := range inFlight {
				descs += n
			}
			if q.Free()+descs != q.Size() || q.InFlight() != len(inFlight) {
				t.Fatalf("free %d + in flight %d descriptors != %d", q.Free(), descs, q.Size())
			}
		}
	})
}
