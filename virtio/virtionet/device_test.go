package virtionet

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"tamanet/devmodel/arena"
	"tamanet/txframe"
	"tamanet/txframe/txtest"
	"tamanet/virtio"
	"tamanet/virtio/virtionet/model"
)

// combos are device offers and driver switches from everything down to
// nothing, on modern and legacy devices.
var combos = []struct {
	name, kind string
	mcfg       model.Config
	cfg        Config
	hdr        int
}{
	{"modern-all", "pci-modern", model.Config{}, Config{}, 12},
	{"modern-all-msix", "pci-modern", model.Config{}, Config{MSIX: true}, 12},
	{"modern-version1-only", "pci-modern", model.Config{Features: model.F_VERSION_1}, Config{}, 12},
	{"modern-no-mrg-big-buffers", "pci-modern", model.Config{Features: model.AllFeatures &^ model.F_MRG_RXBUF}, Config{}, 12},
	{"modern-no-event-idx", "pci-modern", model.Config{Features: model.AllFeatures &^ model.F_RING_EVENT_IDX}, Config{}, 12},
	{"modern-driver-switches-off", "pci-modern", model.Config{MTU: 9000}, Config{NoCsum: true, NoGuestCsum: true, NoMrgRxBuf: true, NoEventIdx: true, NoStatus: true, MTU: 9000}, 12},
	{"modern-small-queues", "pci-modern", model.Config{QueueMax: 64}, Config{RxQueueSize: 16, TxQueueSize: 32}, 12},
	{"legacy-all", "pci-legacy", model.Config{}, Config{}, 12},
	{"legacy-no-mrg", "pci-legacy", model.Config{Features: model.AllFeatures &^ model.F_MRG_RXBUF}, Config{}, 10},
	{"legacy-split-header", "pci-legacy", model.Config{Features: model.F_MAC}, Config{}, 10},
	{"mmio-v2-all", "mmio-v2", model.Config{}, Config{}, 12},
	{"legacy-none", "mmio-v1", model.Config{NoFeatures: true}, Config{MAC: testMAC}, 10},
}

func TestFeatureCombinations(t *testing.T) {
	for _, c := range combos {
		t.Run(c.name, func(t *testing.T) {
			msix := 0
			c.mcfg.MSIX = func(v uint16) { msix++ }
			r := newRigOn(t, c.kind, c.mcfg, c.cfg)
			if r.d.hdrLen != c.hdr {
				t.Errorf("header %d bytes, want %d (features %s)", r.d.hdrLen, c.hdr, r.d.Features())
			}
			if got := Features(r.m.DriverFeatures()); got != r.d.FeatureBits() {
				t.Errorf("device has %s, driver says %s", got, r.d.Features())
			}
			if !r.d.LinkUp() || r.d.FeatureBits().Has(VIRTIO_NET_F_MAC) && r.d.MAC() != testMAC || !validUnicast(r.d.MAC()) {
				t.Fatalf("link %v, MAC % x", r.d.LinkUp(), r.d.MAC())
			}
			checkTx(t, r)
			checkRx(t, r, c.cfg.MSIX)
			r.checkRefilled()
			s, g := r.m.Stats(), r.m.Device().Stats()
			if s.BadDescriptor+s.BadAddress+s.BadTxHeader+s.BadTxFrame+g.FeaturesRefused+g.BadQueue+g.NotifyBeforeReady+g.UnknownRegAccesses != 0 {
				t.Errorf("the model saw driver errors: %+v %+v", s, g)
			}
			if c.cfg.MSIX && msix == 0 {
				t.Error("no MSI-X interrupt")
			}
		})
	}
}

// checkTx sends a plain frame and, where negotiated, a checksum offload
// and TSO frames, and checks what the device got.
func checkTx(t *testing.T, r *rig) {
	t.Helper()
	caps := r.d.TxCapabilities()
	frames := []txframe.Frame{{Parts: [][]byte{udpFrame(100, 1)}}}
	want := [][]byte{udpFrame(100, 1)}
	if caps.Features.Has(txframe.CsumTCPv4) {
		f := tcpFrame(1000, false, true)
		frames = append(frames, txframe.Frame{Parts: [][]byte{f[:20], f[20:]}, Offload: tcpOffload(false, 0)})
		want = append(want, tcpFrame(1000, false, false))
	}
	for _, v6 := range []bool{false, true} {
		if caps.Features.Has(txframe.TSOv4) && !v6 || caps.Features.Has(txframe.TSOv6) && v6 {
			f := tcpFrame(30000, v6, true)
			frames = append(frames, txframe.Frame{Parts: [][]byte{f}, Offload: tcpOffload(v6, 1448)})
		}
	}
	if n := r.d.Transmit(frames); n != len(frames) {
		t.Fatalf("Transmit took %d of %d", n, len(frames))
	}
	r.drain()
	if len(r.wire) != len(frames) {
		t.Fatalf("device got %d frames, want %d", len(r.wire), len(frames))
	}
	for i, w := range r.wire {
		out := model.WireFrames(w.frame, w.hdr)
		if i < len(want) {
			if !equalFrames(out, want[i:i+1]) {
				t.Errorf("frame %d differs on the wire (header %+v)", i, w.hdr)
			}
			continue
		}
		if len(out) != 21 || !bytes.Equal(tcpPayload(out), tcpPayload([][]byte{frames[i].Parts[0]})) {
			t.Errorf("TSO frame %d: %d segments, payload mismatch", i, len(out))
		}
		for _, s := range out {
			if !tcpChecksumOK(s) {
				t.Fatalf("TSO segment with a bad checksum")
			}
		}
	}
	// Completions are reclaimed as frames go out, or by the watchdog.
	r.d.Watchdog()
	st := r.d.Stats().TX
	if st.Packets != uint64(len(frames)) || st.Queued != st.Packets || st.Notifies != 1 {
		t.Errorf("tx stats %+v", st)
	}
	r.wire = nil
}

// checkRx has the device deliver plain, partial-checksum and GSO frames
// and checks what the stack got.
func checkRx(t *testing.T, r *rig, msix bool) {
	t.Helper()
	serve := func() {
		if msix {
			r.d.HandleQueueInterrupt()
		}
		r.drain()
	}
	f := udpFrame(300, 9)
	if err := r.m.Receive(f, model.Header{}); err != nil {
		t.Fatal(err)
	}
	serve()
	if len(r.rx) != 1 || !bytes.Equal(r.rx[0], f) || r.csum[0] {
		t.Fatalf("plain frame: got %d frames (csum %v)", len(r.rx), r.csum)
	}
	guestCsum := r.d.FeatureBits().Has(VIRTIO_NET_F_GUEST_CSUM)
	partial := tcpFrame(1200, false, true)
	if err := r.m.Receive(partial, model.Header{Flags: model.HdrFNeedsCsum, CsumStart: 34, CsumOffset: 16}); err != nil {
		t.Fatal(err)
	}
	serve()
	switch {
	case len(r.rx) != 2:
		t.Fatalf("partial frame not delivered")
	case guestCsum && (!bytes.Equal(r.rx[1], partial) || !r.csum[1]):
		t.Errorf("GUEST_CSUM: partial frame changed or not verified")
	case !guestCsum && (!bytes.Equal(r.rx[1], tcpFrame(1200, false, false)) || r.csum[1]):
		t.Errorf("no GUEST_CSUM: the device should have completed the checksum")
	}
	big := tcpFrame(40000, false, true)
	if err := r.m.Receive(big, model.Header{Flags: model.HdrFNeedsCsum, GSOType: model.GSOTCPv4, GSOSize: 1448, HdrLen: 54, CsumStart: 34, CsumOffset: 16}); err != nil {
		t.Fatal(err)
	}
	serve()
	got := r.rx[2:]
	if r.d.FeatureBits().Has(VIRTIO_NET_F_GUEST_TSO4) {
		if len(got) != 1 || !bytes.Equal(got[0], big) {
			t.Fatalf("GUEST_TSO4: got %d frames, want the 40000-byte one whole", len(got))
		}
	} else if !bytes.Equal(tcpPayload(got), tcpPayload([][]byte{big})) {
		t.Fatalf("segmented by the device: %d frames, payload mismatch", len(got))
	}
	s := r.d.Stats().RX
	if s.Packets != uint64(len(r.rx)) || s.DropShort+s.DropBadHeader+s.DropBadNumBuffers+s.DropBadLength+s.DropOversize != 0 {
		t.Errorf("rx stats %+v", s)
	}
}

func TestFeaturesString(t *testing.T) {
	r := newRig(t, model.Config{}, Config{})
	for _, want := range []string{"VERSION_1", "MRG_RXBUF", "EVENT_IDX", "HOST_TSO4", "GUEST_CSUM", "STATUS"} {
		if !strings.Contains(r.d.Features(), want) {
			t.Errorf("features %q lack %s", r.d.Features(), want)
		}
	}
	r = newRig(t, model.Config{}, Config{NoCsum: true})
	if f := r.d.FeatureBits(); f.Has(VIRTIO_NET_F_CSUM) || f.Has(VIRTIO_NET_F_HOST_TSO4) || r.d.TxCapabilities().Features != 0 {
		t.Errorf("NoCsum left %s", r.d.Features())
	}
}

func TestMTUFromDevice(t *testing.T) {
	r := newRig(t, model.Config{MTU: 1400}, Config{})
	if r.d.MTU() != 1400 {
		t.Errorf("MTU %d, want the device's 1400", r.d.MTU())
	}
	if n := r.d.Transmit([]txframe.Frame{{Parts: [][]byte{udpFrame(1400, 0)}}}); n != 1 || r.d.Stats().TX.DropOversize != 1 {
		t.Errorf("oversized frame not dropped: %d, %+v", n, r.d.Stats().TX)
	}
}

func TestLinkFlap(t *testing.T) {
	r := newRig(t, model.Config{}, Config{})
	r.m.SetLink(false)
	if r.d.LinkUp() || len(r.links) != 1 || r.links[0] {
		t.Fatalf("link down not seen: %v", r.links)
	}
	if n := r.d.Transmit([]txframe.Frame{{Parts: [][]byte{udpFrame(10, 0)}}}); n != 1 || r.d.Stats().TX.DropNoCarrier != 1 {
		t.Errorf("frame sent with the link down")
	}
	r.m.SetLink(true)
	if !r.d.LinkUp() || len(r.links) != 2 || !r.links[1] {
		t.Fatalf("link up not seen: %v", r.links)
	}
	if s := r.d.Stats().Device; s.ConfigInterrupts != 2 || s.LinkChanges != 3 {
		t.Errorf("device stats %+v", s)
	}
	// Without STATUS the link is always up (5.1.4.2).
	r = newRig(t, model.Config{}, Config{NoStatus: true})
	r.m.SetLink(false)
	if !r.d.LinkUp() {
		t.Error("link down without STATUS negotiated")
	}
}

// TestRingOverflow: frames beyond the posted buffers are lost at the
// device (counted there); once polled, every buffer is posted again and
// reception goes on.
func TestRingOverflow(t *testing.T) {
	r := newRig(t, model.Config{}, Config{RxQueueSize: 16})
	lost := 0
	for i := range 40 {
		if err := r.m.Receive(udpFrame(64, byte(i)), model.Header{}); err != nil {
			lost++
		}
	}
	if lost != 40-16 || r.m.Stats().RxNoBuffers != uint64(lost) {
		t.Fatalf("lost %d, model %+v", lost, r.m.Stats())
	}
	r.drain()
	if len(r.rx) != 16 {
		t.Fatalf("delivered %d, want 16", len(r.rx))
	}
	r.checkRefilled()
	if err := r.receive(udpFrame(64, 0), model.Header{}); err != nil || len(r.rx) != 17 {
		t.Fatalf("after overflow: %v, %d frames", err, len(r.rx))
	}
}

// TestTxRingFull: a Transmit that fills the queue stops, and the poll
// after the device's completions wakes it.
func TestTxRingFull(t *testing.T) {
	r := newRig(t, model.Config{}, Config{TxQueueSize: 32, TxBufferBytes: 128 << 10})
	big := tcpFrame(60000, false, true)
	frames := make([]txframe.Frame, 8)
	for i := range frames {
		frames[i] = txframe.Frame{Parts: [][]byte{big}, Offload: tcpOffload(false, 1448)}
	}
	// Two fit in the transmit memory. The model completes chains inside
	// the notification, so the driver's kick-and-reclaim makes room each
	// time and all go.
	if n := r.d.Transmit(frames); n != len(frames) {
		t.Fatalf("Transmit took %d", n)
	}
	if got := len(r.wire); got != len(frames) {
		t.Fatalf("device got %d", got)
	}
	st := r.d.Stats().TX
	if st.RingFull != 0 || st.Notifies < 4 {
		t.Errorf("tx stats %+v", st)
	}
}

// TestDeviceReset: DEVICE_NEEDS_RESET takes the carrier down; the
// watchdog resets the device, drops what it held (counted), and traffic
// flows again.
func TestDeviceReset(t *testing.T) {
	r := newRig(t, model.Config{}, Config{})
	r.m.Receive(udpFrame(64, 1), model.Header{}) // left in the ring
	r.m.SetNeedsReset()
	if r.d.LinkUp() {
		t.Fatal("carrier up on a device that needs a reset")
	}
	if err := r.d.Watchdog(); err != nil {
		t.Fatal(err)
	}
	if !r.d.LinkUp() {
		t.Fatal("carrier down after the reset")
	}
	s := r.d.Stats()
	if s.Device.Resets != 1 || s.Device.NeedsReset != 1 || s.RX.DropReset != 1 {
		t.Errorf("stats after reset %+v %+v", s.Device, s.RX)
	}
	r.checkRefilled()
	if err := r.receive(udpFrame(64, 2), model.Header{}); err != nil || len(r.rx) != 1 {
		t.Fatalf("after reset: %v, %d frames", err, len(r.rx))
	}
	if n := r.d.Transmit([]txframe.Frame{{Parts: [][]byte{udpFrame(64, 3)}}}); n != 1 || len(r.wire) != 1 {
		t.Fatal("transmit after reset")
	}
}

// TestBadUsedEntries: a used entry naming no buffer, a length past the
// buffer, a header too short, num_buffers 0 or beyond what is posted, GSO
// not negotiated: each a clear counter, and every buffer goes back.
func TestBadUsedEntries(t *testing.T) {
	r := newRig(t, model.Config{}, Config{})
	hdr := func(flags, gso uint8, nb uint16) []byte {
		b := make([]byte, 12)
		(&Header{Flags: flags, GSOType: gso, NumBuffers: nb}).Put(b, 12)
		return append(b, udpFrame(64, 0)...)
	}
	r.m.InjectUsed(0, 9999, 10)
	r.m.ReceiveRaw(hdr(0, 0, 1), 5)                          // shorter than the header
	r.m.ReceiveRaw(hdr(0, 0, 0), 12+106)                     // num_buffers 0
	r.m.ReceiveRaw(hdr(0, 0, 9999), 12+106)                  // more than posted
	r.m.ReceiveRaw(hdr(0, 0, 1), 1<<20)                      // past the buffer
	r.m.ReceiveRaw(hdr(0, model.GSOUDP, 1), 12+106)          // UFO, not negotiated
	r.m.ReceiveRaw(hdr(model.HdrFNeedsCsum, 0, 1), 12+106)   // csum_start 0
	r.m.ReceiveRaw(hdr(model.HdrFDataValid, 0, 1), 12+106+1) // fine (one byte of padding)
	r.drain()
	s := r.d.Stats()
	rx := s.RX
	if rx.BadUsedID != 1 || rx.DropShort != 1 || rx.DropBadNumBuffers != 2 || rx.DropBadLength != 1 || rx.DropBadHeader != 2 || rx.Packets != 1 {
		t.Errorf("rx stats %+v", rx)
	}
	if !r.csum[0] {
		t.Error("DATA_VALID frame not verified")
	}
	if s.RxQueue.BadID != 1 || s.RxQueue.BadLen != 1 {
		t.Errorf("queue stats %+v", s.RxQueue)
	}
	r.checkRefilled()
	// A transmit completion naming no chain.
	r.m.InjectUsed(1, 4242, 0)
	r.d.Watchdog()
	if s := r.d.Stats().TX; s.BadUsedID != 1 {
		t.Errorf("tx stats %+v", s)
	}
}

// TestMergeableAcrossBuffers: a frame bigger than a page arrives in
// several buffers (num_buffers) and is delivered whole.
func TestMergeableAcrossBuffers(t *testing.T) {
	r := newRig(t, model.Config{Features: model.AllFeatures &^ (model.F_GUEST_TSO4 | model.F_GUEST_TSO6)}, Config{MTU: 9000})
	f := udpFrame(8900, 5)
	if err := r.receive(f, model.Header{}); err != nil {
		t.Fatal(err)
	}
	if len(r.rx) != 1 || !bytes.Equal(r.rx[0], f) || r.d.Stats().RX.Merged != 1 {
		t.Fatalf("merged frame: %d frames, stats %+v", len(r.rx), r.d.Stats().RX)
	}
	r.checkRefilled()
}

func TestNewErrors(t *testing.T) {
	r := newRig(t, model.Config{}, Config{})
	if _, err := New(r.tr, r.mem, Config{RxQueueSize: 100}); !errors.Is(err, ErrConfig) {
		t.Errorf("queue of 100: %v", err)
	}
	m := model.New(model.Config{Memory: r.mem, Features: model.F_MAC})
	if _, err := New(transport(t, m), r.mem, Config{}); !errors.Is(err, virtio.ErrNotModern) {
		t.Errorf("modern device without VERSION_1: %v", err)
	}
	if m.Status()&statusFailed == 0 {
		t.Error("device not marked FAILED")
	}
	m = model.New(model.Config{Memory: r.mem, QueueMax: 8})
	if _, err := New(transport(t, m), r.mem, Config{}); !errors.Is(err, virtio.ErrQueueSize) {
		t.Errorf("queue bigger than the device's: %v", err)
	}
}

// TestInterruptSuppression: while a poll is owed the device is asked
// not to interrupt, and the re-arm catches what arrived meanwhile.
func TestInterruptSuppression(t *testing.T) {
	for _, ev := range []bool{true, false} {
		cfg := Config{NoEventIdx: !ev}
		r := newRig(t, model.Config{}, cfg)
		for i := range 10 {
			r.m.Receive(udpFrame(64, byte(i)), model.Header{})
		}
		if irqs := r.m.Stats().Interrupts; irqs != 1 {
			t.Errorf("eventIdx %v: %d interrupts for 10 frames before a poll, want 1", ev, irqs)
		}
		r.drain()
		if len(r.rx) != 10 {
			t.Fatalf("delivered %d", len(r.rx))
		}
		r.m.Receive(udpFrame(64, 0), model.Header{})
		if irqs := r.m.Stats().Interrupts; irqs != 2 {
			t.Errorf("eventIdx %v: re-armed queue gave %d interrupts, want 2", ev, irqs)
		}
	}
}

// quietTransport swallows notifications while quiet, so that a test
// plays the device's part itself without the model's allocations.
type quietTransport struct {
	virtio.Transport
	quiet bool
}

func (q *quietTransport) Notify(n uint16) {
	if !q.quiet {
		q.Transport.Notify(n)
	}
}

// transport is m's modern PCI transport.
func transport(t testing.TB, m *model.Model) virtio.Transport {
	t.Helper()
	tr, err := m.Transport("pci-modern")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestNoAllocs: transmitting, receiving, polling and re-arming allocate
// nothing in the driver.
func TestNoAllocs(t *testing.T) {
	mem := arena.New(32 << 20)
	var d *Device
	m := model.New(model.Config{Memory: mem, MAC: testMAC, IRQ: func() { d.HandleInterrupt() }})
	qt := &quietTransport{Transport: transport(t, m)}
	d, err := New(qt, mem, Config{})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	d.Attach(func([]byte, bool) { got++ }, nil, nil)
	raw := make([]byte, 12)
	(&Header{Flags: VIRTIO_NET_HDR_F_DATA_VALID, NumBuffers: 1}).Put(raw, 12)
	raw = append(raw, udpFrame(1000, 1)...)
	f := tcpFrame(1400, false, true)
	// Held: the payload goes in place, its mapping and hold ended on use.
	frames := []txframe.Frame{{Parts: [][]byte{f[:54], f[54:]}, Offload: tcpOffload(false, 0), Hold: &txtest.Holder{}}}
	qt.quiet = true
	n := testing.AllocsPerRun(500, func() {
		head := d.txq.NextDescriptor(0)
		if d.Transmit(frames) != 1 {
			t.Fatal("transmit")
		}
		m.InjectUsed(1, uint32(head), 0)
		m.ReceiveRaw(raw, uint32(len(raw)))
		for d.NAPI().Step() {
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per frame each way", n)
	}
	if s := d.Stats(); got < 500 || s.TX.Packets < 500 || s.TX.InPlace < 500 || s.RX.ChecksumOffloaded < 500 {
		t.Errorf("delivered %d, stats %+v %+v", got, s.TX, s.RX)
	}
}

// TestTxStopAndWake: with a device that has not finished anything, a
// full queue stops Transmit; the device's completions then interrupt
// (asked for while stopped), the poll reclaims them and txReady fires.
func TestTxStopAndWake(t *testing.T) {
	for _, ev := range []bool{true, false} {
		mem := arena.New(32 << 20)
		var d *Device
		m := model.New(model.Config{Memory: mem, MAC: testMAC, IRQ: func() { d.HandleInterrupt() }})
		qt := &quietTransport{Transport: transport(t, m)}
		d, err := New(qt, mem, Config{TxQueueSize: 16, NoEventIdx: !ev})
		if err != nil {
			t.Fatal(err)
		}
		wakes := 0
		d.Attach(nil, nil, func() { wakes++ })
		qt.quiet = true
		frames := make([]txframe.Frame, 40)
		for i := range frames {
			frames[i] = txframe.Frame{Parts: [][]byte{udpFrame(100, byte(i))}}
		}
		n := d.Transmit(frames)
		if n != 16 || d.Stats().TX.RingFull != 1 {
			t.Fatalf("eventIdx %v: Transmit took %d of a 16-entry queue, stats %+v", ev, n, d.Stats().TX)
		}
		qt.quiet = false
		qt.Notify(txQueue) // the device gets round to the queue
		for d.NAPI().Step() {
		}
		if wakes != 1 || d.Stats().TX.Packets != 16 {
			t.Fatalf("eventIdx %v: %d wakes, stats %+v", ev, wakes, d.Stats().TX)
		}
		if n := d.Transmit(frames[16:]); n != 24 {
			t.Fatalf("after the wake Transmit took %d", n)
		}
	}
}
