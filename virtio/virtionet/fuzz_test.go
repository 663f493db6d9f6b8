package virtionet

import (
	"testing"

	"tamanet/virtio/virtionet/model"
)

// FuzzRxHeader gives the driver received buffers with arbitrary headers,
// frames and used lengths, and used entries naming arbitrary buffers, on
// a device with and without mergeable buffers. Whatever arrives, the
// driver must not panic, every buffer must go back to the device, and
// every packet it finishes must be counted once.
func FuzzRxHeader(f *testing.F) {
	good := make([]byte, 12)
	(&Header{NumBuffers: 1}).Put(good, 12)
	good = append(good, udpFrame(64, 0)...)
	f.Add(good, uint32(len(good)), uint32(0), false)
	f.Add(good, uint32(5), uint32(3), true)
	two := append([]byte(nil), good...)
	two[10] = 2
	f.Add(two, uint32(len(two)), uint32(1000), false)
	gso := append([]byte(nil), good...)
	gso[0], gso[1], gso[6], gso[8] = VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 34, 16
	f.Add(gso, uint32(len(gso)), uint32(70000), true)
	f.Fuzz(func(t *testing.T, data []byte, usedLen, badID uint32, noMrg bool) {
		mcfg := model.Config{}
		if noMrg {
			mcfg.Features = model.AllFeatures &^ model.F_MRG_RXBUF
		}
		r := newRig(t, mcfg, Config{RxQueueSize: 16, BigBuffers: 4})
		r.keep = false
		for range 3 {
			r.m.ReceiveRaw(data, usedLen)
		}
		// An id that names no chain head. (One naming a posted buffer
		// the device never took cannot be told from a real completion;
		// the driver reposts it and the device sees one entry too many.)
		r.m.InjectUsed(0, badID|0x100, usedLen)
		r.drain()
		// A packet announced over several buffers may still wait for its
		// rest: a good frame completes or flushes it.
		for range r.d.rxb.count + 1 {
			if r.d.merging.want == 0 {
				break
			}
			r.m.Receive(udpFrame(64, 1), model.Header{})
			r.drain()
		}
		r.checkRefilled()
		s := r.d.Stats().RX
		finished := s.Packets + s.DropShort + s.DropBadHeader + s.DropBadNumBuffers + s.DropBadLength +
			s.DropZeroLength + s.DropRunt + s.DropOversize + s.DropNoHandler
		if finished == 0 || finished > s.Buffers {
			t.Fatalf("%d packets finished from %d buffers: %+v", finished, s.Buffers, s)
		}
	})
}
