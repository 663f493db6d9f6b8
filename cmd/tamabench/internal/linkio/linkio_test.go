//go:build linux

package linkio

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// tapInNamespace makes a network namespace of the test's own holding a tap
// that the test itself reads (as QEMU would), up, and returns the
// namespace's dialer and the tap's file descriptor. The namespace's name
// follows package vm's, so a later launch removes it if the test dies.
func tapInNamespace(t *testing.T) (*vm.NetnsDialer, int) {
	t.Helper()
	vmtest.RequireTap(t)
	ns := fmt.Sprintf("tamanet-%d-%s", os.Getpid(), t.Name())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	d := vm.NewNetnsDialer(ns)
	var fd int
	err := d.Run(func() error {
		var err error
		if fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
			return err
		}
		ifr, err := unix.NewIfreq("tap0")
		if err != nil {
			return err
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		return unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	})
	if err != nil {
		t.Fatalf("tap: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	// Without IPv6 the host's stack sends nothing of its own on the tap
	// (MLD reports, router solicitations): only the test's frames.
	setup := "sysctl -qw net.ipv6.conf.tap0.disable_ipv6=1 && ip link set tap0 up"
	if out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-c", setup).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", setup, err, out)
	}
	return d, fd
}

// openTap opens the counters of the namespace's tap0 and a writer to it.
func openTap(t *testing.T, d *vm.NetnsDialer) (*vm.Link, *Writer) {
	t.Helper()
	link, err := d.OpenLink("tap0")
	if err != nil {
		t.Fatal(err)
	}
	fd, err := d.PacketSocket("tap0")
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(fd)
	if err != nil {
		t.Fatal(err)
	}
	return link, w
}

// TestWriterThroughTap sends a batch through the tap and reads it on the
// other side byte for byte; the tap's tx counters, read over rtnetlink,
// count what was read.
func TestWriterThroughTap(t *testing.T) {
	d, tapFD := tapInNamespace(t)
	link, w := openTap(t, d)
	defer link.Close()
	defer w.Close()
	if len(link.MAC) != 6 || link.Index == 0 {
		t.Fatalf("link %+v", link)
	}
	before, err := link.Stats()
	if err != nil {
		t.Fatal(err)
	}
	frames := make([][]byte, 5)
	for i := range frames {
		frames[i] = bytes.Repeat([]byte{byte(i + 1)}, 60+i)
		copy(frames[i], link.MAC) // to the tap's own address
	}
	b := NewBatch(frames)
	sent := 0
	for sent < b.Len() {
		n, err := w.Send(b, sent)
		if err != nil {
			t.Fatalf("send from %d: %v", sent, err)
		}
		sent += n
	}
	if err := unix.SetNonblock(tapFD, false); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for i, want := range frames {
		n, err := readFrame(tapFD, buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("frame %d: read %x, want %x", i, buf[:n], want)
		}
	}
	after, err := link.Stats()
	if err != nil {
		t.Fatal(err)
	}
	delta := after.Sub(before)
	wantBytes := uint64(0)
	for _, f := range frames {
		wantBytes += uint64(len(f))
	}
	if delta.TxPackets != uint64(len(frames)) || delta.TxBytes != wantBytes || delta.TxDropped != 0 {
		t.Errorf("tap counters moved by %+v, want %d packets, %d bytes", delta, len(frames), wantBytes)
	}
}

// readFrame reads one frame from the tap, bounded in time.
func readFrame(fd int, buf []byte) (int, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Poll(fds, 100)
		if err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil {
			return 0, err
		}
		return unix.Read(fd, buf)
	}
	return 0, errors.New("no frame within 10 s")
}

// TestFullQueue: with nobody reading the tap, its queue fills; Send then
// reports ErrFull and the tap counts the drops.
func TestFullQueue(t *testing.T) {
	d, _ := tapInNamespace(t)
	link, w := openTap(t, d)
	defer link.Close()
	defer w.Close()
	b := NewBatch([][]byte{make([]byte, 60)})
	full := false
	for i := 0; i < 100000 && !full; i++ {
		_, err := w.Send(b, 0)
		switch {
		case errors.Is(err, ErrFull):
			full = true
		case err != nil:
			t.Fatal(err)
		}
	}
	if !full {
		t.Fatal("100000 frames and the queue never filled")
	}
	s, err := link.Stats()
	if err != nil || s.TxDropped == 0 {
		t.Fatalf("stats %+v %v: want drops counted", s, err)
	}
}
