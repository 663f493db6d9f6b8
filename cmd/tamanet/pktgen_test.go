//go:build !tamago

package main

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tamanet/pktgen"
	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// pktgenLine is a PKTGEN console line's key=value fields.
type pktgenLine map[string]string

// parsePktgen parses the fields after the tag of a PKTGEN line.
func parsePktgen(t *testing.T, l vm.Line) pktgenLine {
	t.Helper()
	t.Log(l.Text)
	f := pktgenLine{}
	_, rest, _ := strings.Cut(l.Text, "PKTGEN ")
	for _, w := range strings.Fields(rest)[1:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			t.Fatalf("%q: %q is not key=value", l.Text, w)
		}
		f[k] = v
	}
	return f
}

// int is field k as an integer.
func (f pktgenLine) int(t *testing.T, k string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(f[k], 10, 64)
	if err != nil {
		t.Fatalf("field %s=%q: %v", k, f[k], err)
	}
	return n
}

// tapCounter reads one of the tap's statistics inside the guest's
// namespace.
func tapCounter(t *testing.T, g *vm.Guest, name string) int64 {
	t.Helper()
	out, err := g.Command("cat", "/sys/class/net/tap0/statistics/"+name).Output()
	if err != nil {
		t.Fatalf("tap0 %s: %v", name, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// bootPktgen boots the unikernel in pktgen mode on a tap and returns its
// PKTGEN ready line's fields.
func bootPktgen(t *testing.T, image, nic, cmdline string) (*vm.Guest, pktgenLine) {
	t.Helper()
	g := vmtest.Start(t, vm.Config{Image: image, NIC: nic, Network: vm.Tap, Cmdline: cmdline})
	ready := parsePktgen(t, vmtest.Await(t, g, "PKTGEN ready", 0, readyTimeout))
	return g, ready
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
		// tapFrames is the line's count the tap's rx_packets is held to:
		// a virtio-net tap takes TSO super-frames whole (vnet header).
		tapFrames string
	}{
		{"e1000", "e1000", "pktgen=tx pktgen_seconds=2", "wire_frames"},
		// A payload that is no multiple of the MSS: QEMU's e1000 follows
		// a segmentation that ends on a segment boundary with a segment of
		// headers alone, which its registers and the tap count.
		{"e1000-tso", "e1000", "pktgen=tso pktgen_size=65000 pktgen_seconds=2", "wire_frames"},
		{"virtio", "virtio", "pktgen=tx pktgen_size=60 pktgen_seconds=2", "wire_frames"},
		{"virtio-tso", "virtio", "pktgen=tso pktgen_seconds=2", "frames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, ready := bootPktgen(t, image, tc.nic, tc.cmdline)
			wantNIC := strings.TrimSuffix(tc.nic, "-tso")
			if ready["nic"] != wantNIC || ready["mac"] == "" {
				t.Errorf("ready line: nic %q mac %q, want nic %s", ready["nic"], ready["mac"], wantNIC)
			}
			vmtest.Await(t, g, "PKTGEN start", 0, 30*time.Second)
			done := parsePktgen(t, vmtest.Await(t, g, "PKTGEN done", 0, time.Minute))
			frames, wire := done.int(t, "frames"), done.int(t, "wire_frames")
			if frames == 0 || done.int(t, "drops") != 0 {
				t.Fatalf("frames %d, drops %s", frames, done["drops"])
			}
			if dev := done.int(t, "dev_frames"); tc.nic == "e1000" {
				if diff := dev - wire; diff*1000 > wire || -diff*1000 > wire {
					t.Errorf("the device sent %d frames, the guest counted %d on the wire", dev, wire)
				}
			} else if dev != -1 || done.int(t, "dev_bytes") != -1 {
				t.Errorf("virtio-net has no statistics registers: dev_frames %d", dev)
			}
			// The tap counts what QEMU wrote to it as received, or as
			// dropped when the host's backlog was full.
			want := done.int(t, tc.tapFrames)
			rx, dropped := tapCounter(t, g, "rx_packets"), tapCounter(t, g, "rx_dropped")
			t.Logf("tap rx_packets %d, rx_dropped %d; guest %s %d", rx, dropped, tc.tapFrames, want)
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
	g, ready := bootPktgen(t, image, nic, "pktgen=sink")
	guestMAC, err := net.ParseMAC(ready["mac"])
	if err != nil {
		t.Fatalf("ready line's mac: %v", err)
	}
	fd, err := vm.NewNetnsDialer(g.Netns).PacketSocket("tap0")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	frame := make([]byte, 1514)
	copy(frame, guestMAC)
	copy(frame[6:], []byte{0x02, 0, 0, 0, 0, 0x02})
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	marker := make([]byte, 60)
	copy(marker, frame[:12])
	binary.BigEndian.PutUint16(marker[12:], pktgen.MarkerEtherType)
	copy(marker[14:], pktgen.MarkerText)

	// QEMU's e1000 receives nothing for a second after the driver
	// enables receive: the guest receives once a marker ends the (empty)
	// interval since ready.
	markers := 0
	endInterval := func(from int, accept func(pktgenLine) bool) pktgenLine {
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
				l, i, err := g.Console.Await(ctx, "PKTGEN sink", from)
				if err != nil {
					break
				}
				from = i + 1
				if f := parsePktgen(t, l); accept(f) {
					cancel()
					return f
				}
			}
			cancel()
		}
	}
	endInterval(0, func(pktgenLine) bool { return true })

	// The writes outrun the guest: frames the tap's queue has no room
	// for are dropped there (tx_dropped) and never reach QEMU. What QEMU
	// read (tx_packets) is what the guest was offered.
	tapBefore := tapCounter(t, g, "tx_packets")
	const count = 100000
	for range count {
		if _, err := unix.Write(fd, frame); err != nil {
			t.Fatal(err)
		}
	}
	// Empty intervals the earlier markers end are skipped: the host
	// takes the first line with its frames.
	before := markers
	r := endInterval(g.Console.Mark(), func(f pktgenLine) bool { return f["frames"] != "0" })
	offered := tapCounter(t, g, "tx_packets") - tapBefore
	frames, dev, missed := r.int(t, "frames"), r.int(t, "dev_frames"), max(r.int(t, "dev_missed"), 0)
	markers -= before
	t.Logf("wrote %d frames, then %d markers; the tap passed %d to QEMU and dropped %d",
		count, markers, offered, tapCounter(t, g, "tx_dropped"))
	if frames == 0 || r.int(t, "bytes") != frames*1514 || r.int(t, "errors") != 0 {
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
