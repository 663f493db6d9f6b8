//go:build linux

package vm

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// LinkStats are a link's counters (struct rtnl_link_stats64's first
// eight), the figures /sys/class/net/IF/statistics shows.
// On a tap, rx is what its user (QEMU) wrote to it, frames the guest
// sent; tx is what its user read from it, frames the host sent the
// guest, and TxDropped what found the tap's queue full.
type LinkStats struct {
	RxPackets, TxPackets uint64
	RxBytes, TxBytes     uint64
	RxErrors, TxErrors   uint64
	RxDropped, TxDropped uint64
}

// Sub is the change from earlier to s.
func (s LinkStats) Sub(earlier LinkStats) LinkStats {
	return LinkStats{
		s.RxPackets - earlier.RxPackets, s.TxPackets - earlier.TxPackets,
		s.RxBytes - earlier.RxBytes, s.TxBytes - earlier.TxBytes,
		s.RxErrors - earlier.RxErrors, s.TxErrors - earlier.TxErrors,
		s.RxDropped - earlier.RxDropped, s.TxDropped - earlier.TxDropped,
	}
}

// Link is a network interface in a namespace and a netlink socket asking
// for its counters. The socket belongs to the namespace it was opened in,
// so Stats reads that namespace's link from any thread: sysfs read from a
// thread that joined the namespace would show the host's.
type Link struct {
	Name  string
	Index int
	MAC   net.HardwareAddr

	mu  sync.Mutex // one request in flight on fd
	fd  int
	seq uint32
}

// OpenLink opens interface name of the namespace (a guest's tap0) for
// reading its counters.
func (n *NetnsDialer) OpenLink(name string) (*Link, error) {
	var l *Link
	err := n.Run(func() (err error) {
		l, err = openLink(name)
		return err
	})
	return l, err
}

// openLink finds interface name in the calling thread's namespace and
// opens the netlink socket that reads its counters.
func openLink(name string) (*Link, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vm: netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vm: netlink bind: %w", err)
	}
	return &Link{Name: name, Index: ifi.Index, MAC: ifi.HardwareAddr, fd: fd}, nil
}

// Close closes the netlink socket.
func (l *Link) Close() error { return unix.Close(l.fd) }

// Stats reads the link's counters now (RTM_GETLINK, IFLA_STATS64).
func (l *Link) Stats() (LinkStats, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	// struct nlmsghdr, then struct ifinfomsg naming the link.
	req := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:4], uint32(len(req)))
	ne.PutUint16(req[4:6], unix.RTM_GETLINK)
	ne.PutUint16(req[6:8], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:12], l.seq)
	req[unix.NLMSG_HDRLEN] = unix.AF_UNSPEC
	ne.PutUint32(req[unix.NLMSG_HDRLEN+4:], uint32(l.Index))
	if err := unix.Sendto(l.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return LinkStats{}, fmt.Errorf("vm: RTM_GETLINK %s: %w", l.Name, err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(l.fd, buf, 0)
		if err != nil {
			return LinkStats{}, fmt.Errorf("vm: RTM_GETLINK %s: %w", l.Name, err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return LinkStats{}, fmt.Errorf("vm: RTM_GETLINK %s: %w", l.Name, err)
		}
		for _, m := range msgs {
			if m.Header.Seq != l.seq {
				continue // a late answer to an earlier request
			}
			return parseLinkMessage(m)
		}
	}
}

// parseLinkMessage takes the counters from an answer to RTM_GETLINK.
func parseLinkMessage(m syscall.NetlinkMessage) (LinkStats, error) {
	switch m.Header.Type {
	case unix.NLMSG_ERROR:
		if len(m.Data) >= 4 {
			if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
				return LinkStats{}, fmt.Errorf("vm: RTM_GETLINK: %w", syscall.Errno(-errno))
			}
		}
		return LinkStats{}, fmt.Errorf("vm: RTM_GETLINK: an error message without an error")
	case unix.RTM_NEWLINK:
	default:
		return LinkStats{}, fmt.Errorf("vm: RTM_GETLINK: answer of type %d", m.Header.Type)
	}
	attrs, err := syscall.ParseNetlinkRouteAttr(&m)
	if err != nil {
		return LinkStats{}, fmt.Errorf("vm: RTM_NEWLINK: %w", err)
	}
	for _, a := range attrs {
		if a.Attr.Type != unix.IFLA_STATS64 {
			continue
		}
		if len(a.Value) < 8*8 {
			return LinkStats{}, fmt.Errorf("vm: IFLA_STATS64 of %d bytes", len(a.Value))
		}
		u := func(i int) uint64 { return binary.NativeEndian.Uint64(a.Value[8*i:]) }
		return LinkStats{u(0), u(1), u(2), u(3), u(4), u(5), u(6), u(7)}, nil
	}
	return LinkStats{}, fmt.Errorf("vm: RTM_NEWLINK without IFLA_STATS64")
}
