//go:build !tamago

package main

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tamanet/pktgen"
	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// bootPktgen boots the unikernel in pktgen mode on a tap and returns its
// PKTGEN ready line and the counters of the tap.
func bootPktgen(t *testing.T, image, nic, cmdline string) (*vm.Guest, pktgen.Ready, *vm.Link) {
	t.Helper()
	g := vmtest.Start(t, vm.Config{Image: image, NIC: nic, Network: vm.Tap, Cmdline: cmdline})
	ready := parse(t, vmtest.Await(t, g, pktgen.Tag+pktgen.EventReady, 0, readyTimeout), pktgen.ParseReady)
	tap, err := vm.NewNetnsDialer(g.Netns).OpenLink("tap0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Close() })
	return g, ready, tap
}

// parse logs a console line and parses it with p.
func parse[L any](t *testing.T, l vm.Line, p func(string) (L, error)) L {
	t.Helper()
	t.Log(l.Text)
	v, err := p(l.Text)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tapStats reads the tap's counters.
func tapStats(t *testing.T, tap *vm.Link) vm.LinkStats {
	t.Helper()
	s, err := tap.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPktgenTx runs the packet generator for two seconds on each NIC and
// checks its counts against the device's statistics registers (e1000)
// and against the tap, which counts every frame QEMU handed it as
// received or, when the host's backlog was full, dropped.
func TestPktgenTx(t *testing.T) {
	vmtest.RequireTap(t)
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	for _, tc := range []struct {
		name, nic, cmdline string
		// superFrames: the tap's rx_packets is held to the line's frames,
		// not its wire_frames: a virtio-net tap takes TSO super-frames
		// whole (vnet header).
		superFrames bool
	}{
		{"e1000", "e1000", "pktgen=tx pktgen_seconds=2", false},
		// A payload that is no multiple of the MSS: QEMU's e1000 follows
		// a segmentation that ends on a segment boundary with a segment of
		// headers alone, which its registers and the tap count.
		{"e1000-tso", "e1000", "pktgen=tso pktgen_size=65000 pktgen_seconds=2", false},
		{"virtio", "virtio", "pktgen=tx pktgen_size=60 pktgen_seconds=2", false},
		{"virtio-tso", "virtio", "pktgen=tso pktgen_seconds=2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, ready, tap := bootPktgen(t, image, tc.nic, tc.cmdline)
			if ready.NIC != tc.nic || ready.MAC == ([6]byte{}) {
				t.Errorf("ready line: nic %q mac %x, want nic %s", ready.NIC, ready.MAC, tc.nic)
			}
			vmtest.Await(t, g, pktgen.Tag+pktgen.EventStart, 0, 30*time.Second)
			done := parse(t, vmtest.Await(t, g, pktgen.Tag+pktgen.EventDone, 0, time.Minute), pktgen.ParseDone)
			if done.Frames == 0 || done.Drops != 0 {
				t.Fatalf("frames %d, drops %d", done.Frames, done.Drops)
			}
			if dev, wire := done.DevFrames, done.WireFrames; tc.nic == "e1000" {
				if diff := dev - wire; diff*1000 > wire || -diff*1000 > wire {
					t.Errorf("the device sent %d frames, the guest counted %d on the wire", dev, wire)
				}
			} else if dev != -1 || done.DevBytes != -1 {
				t.Errorf("virtio-net has no statistics registers: dev_frames %d", dev)
			}
			// The tap counts what QEMU wrote to it as received, or as
			// dropped when the host's backlog was full.
			want := done.WireFrames
			if tc.superFrames {
				want = done.Frames
			}
			c := tapStats(t, tap)
			rx, dropped := int64(c.RxPackets), int64(c.RxDropped)
			t.Logf("tap rx_packets %d, rx_dropped %d; guest sent %d", rx, dropped, want)
			if diff := rx + dropped - want; diff*1000 > want || -diff*1000 > want {
				t.Errorf("the tap took %d frames (%d of them dropped by the host), the guest sent %d", rx+dropped, dropped, want)
			}
		})
	}
}

// TestPktgenSink runs the receive sink on each NIC: frames written onto
// the tap with a raw socket from inside the namespace, then end markers
// every 100 ms until the sink's line appears, as the host side does.
func TestPktgenSink(t *testing.T) {
	vmtest.RequireTap(t)
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	for _, nic := range []string{"e1000", "virtio"} {
		t.Run(nic, func(t *testing.T) { testSink(t, image, nic) })
	}
}

func testSink(t *testing.T, image, nic string) {
	g, ready, tap := bootPktgen(t, image, nic, "pktgen=sink")
	fd, err := vm.NewNetnsDialer(g.Netns).PacketSocket("tap0")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	frame := make([]byte, 1514)
	copy(frame, ready.MAC[:])
	copy(frame[6:], []byte{0x02, 0, 0, 0, 0, 0x02})
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	marker := make([]byte, 60)
	copy(marker, frame[:12])
	binary.BigEndian.PutUint16(marker[12:], pktgen.MarkerEtherType)
	copy(marker[14:], pktgen.MarkerText)

	// QEMU's e1000 receives nothing for a second after the driver
	// enables receive: the guest receives once a marker ends the (empty)
	// interval since ready.
	markers, answered, next := 0, 0, 0 // markers written, sink lines seen, console index after the last
	endInterval := func(from int, accept func(pktgen.SinkDone) bool) pktgen.SinkDone {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			if time.Now().After(deadline) {
				t.Fatalf("no PKTGEN sink line after %d markers", markers)
			}
			if _, err := unix.Write(fd, marker); err == nil {
				markers++
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			for {
				l, i, err := g.Console.Await(ctx, pktgen.Tag+pktgen.EventSink, from)
				if err != nil {
					break
				}
				from, next = i+1, i+1
				answered++
				if f := parse(t, l, pktgen.ParseSink); accept(f) {
					cancel()
					return f
				}
			}
			cancel()
		}
	}
	endInterval(0, func(pktgen.SinkDone) bool { return true })
	// Markers written while the device held reception may still be on
	// their way: each ends an interval whose device counts are read when
	// its line is printed, so one answered during the burst would start
	// the measured interval late. Wait for their lines; the tap may have
	// dropped some, so a quiet second ends the wait.
	for answered < markers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, i, err := g.Console.Await(ctx, pktgen.Tag+pktgen.EventSink, next)
		cancel()
		if err != nil {
			t.Logf("%d of %d warm-up markers answered", answered, markers)
			break
		}
		answered, next = answered+1, i+1
	}

	// The writes outrun the guest: frames the tap's queue has no room
	// for are dropped there (tx_dropped) and never reach QEMU. What QEMU
	// read (tx_packets) is what the guest was offered.
	tapBefore := tapStats(t, tap)
	const count = 100000
	for range count {
		if _, err := unix.Write(fd, frame); err != nil {
			t.Fatal(err)
		}
	}
	// Empty intervals the earlier markers end are skipped: the host
	// takes the first line with its frames.
	before := markers
	r := endInterval(g.Console.Mark(), func(f pktgen.SinkDone) bool { return f.Frames != 0 })
	tapMoved := tapStats(t, tap).Sub(tapBefore)
	offered := int64(tapMoved.TxPackets)
	frames, dev, missed := r.Frames, r.DevFrames, max(r.DevMissed, 0)
	markers -= before
	t.Logf("wrote %d frames, then %d markers; the tap passed %d to QEMU and dropped %d",
		count, markers, offered, tapMoved.TxDropped)
	if frames == 0 || r.Bytes != frames*1514 || r.Errors != 0 {
		t.Errorf("the sink counted %d frames of %d written", frames, count)
	}
	// Everything QEMU read reached the sink, but for the markers (some
	// may come after the line) and what the device missed.
	if offered < frames+missed || offered > frames+missed+int64(markers) {
		t.Errorf("the tap passed %d frames to QEMU; the sink counted %d, the device missed %d, with %d markers", offered, frames, missed, markers)
	}
	// The e1000 counts the markers too; virtio-net has no registers.
	if nic == "virtio" {
		if dev != -1 {
			t.Errorf("virtio-net has no statistics registers: dev_frames %d", dev)
		}
	} else if dev < frames+1 || dev > frames+int64(markers) {
		t.Errorf("the device received %d frames, the sink counted %d (%d markers written)", dev, frames, markers)
	}
}
