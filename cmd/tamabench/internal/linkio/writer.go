//go:build linux

package linkio

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Writer sends prepared frames to a link through an AF_PACKET socket that
// bypasses the link's queueing discipline (PACKET_QDISC_BYPASS), as many
// as a sendmmsg call takes at once.
type Writer struct {
	fd int
}

// NewWriter makes a writer of fd, an AF_PACKET raw socket bound to the
// link (vm.NetnsDialer.PacketSocket opens one inside a namespace), which
// the writer owns from then on: it has the socket bypass the link's
// queueing discipline.
func NewWriter(fd int) (*Writer, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("linkio: PACKET_QDISC_BYPASS: %w", err)
	}
	return &Writer{fd: fd}, nil
}

// Close closes the socket.
func (w *Writer) Close() error { return unix.Close(w.fd) }

// Batch is frames made ready for sendmmsg once, so a send builds nothing.
type Batch struct {
	iovs []unix.Iovec
	msgs []unix.Mmsghdr
}

// NewBatch prepares frames (at least one) for Send. The frames must not
// change while the batch is in use.
func NewBatch(frames [][]byte) *Batch {
	b := &Batch{iovs: make([]unix.Iovec, len(frames)), msgs: make([]unix.Mmsghdr, len(frames))}
	for i, f := range frames {
		b.iovs[i].Base = &f[0]
		b.iovs[i].SetLen(len(f))
		b.msgs[i].Hdr.Iov = &b.iovs[i]
		b.msgs[i].Hdr.Iovlen = 1
	}
	return b
}

// Len is the number of frames in the batch.
func (b *Batch) Len() int { return len(b.msgs) }

// ErrFull is Send's error when the link took none of the frames: its
// queue was full (ENOBUFS: the frame was dropped and counted in the
// link's TxDropped).
var ErrFull = errors.New("linkio: link queue full")

// Send sends the batch's frames from index from on and returns how many
// the link took. Fewer than asked for means the next one met an error (a
// full queue, most often), which the next Send starting there reports if
// it persists.
func (w *Writer) Send(b *Batch, from int) (int, error) {
	msgs := b.msgs[from:]
	if len(msgs) == 0 {
		return 0, nil
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(w.fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.ENOBUFS:
			return 0, ErrFull
		}
		return 0, fmt.Errorf("linkio: sendmmsg: %w", errno)
	}
}
