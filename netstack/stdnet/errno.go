package stdnet

import (
	"io"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// errno turns a gVisor error into what a Linux socket call would have
// returned, so a program's errors.Is(err, syscall.ECONNREFUSED) and
// net.Error checks behave as they do on Linux. End of stream is io.EOF.
func errno(err tcpip.Error) error {
	switch err.(type) {
	case nil:
		return nil
	case *tcpip.ErrClosedForReceive:
		return io.EOF
	case *tcpip.ErrClosedForSend:
		return syscall.EPIPE
	case *tcpip.ErrConnectionRefused:
		return syscall.ECONNREFUSED
	case *tcpip.ErrConnectionReset:
		return syscall.ECONNRESET
	case *tcpip.ErrConnectionAborted, *tcpip.ErrAborted:
		return syscall.ECONNABORTED
	case *tcpip.ErrTimeout:
		return syscall.ETIMEDOUT
	case *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
		return syscall.ENETUNREACH
	case *tcpip.ErrHostUnreachable, *tcpip.ErrHostDown:
		return syscall.EHOSTUNREACH
	case *tcpip.ErrPortInUse, *tcpip.ErrDuplicateAddress:
		return syscall.EADDRINUSE
	case *tcpip.ErrBadLocalAddress:
		return syscall.EADDRNOTAVAIL
	case *tcpip.ErrNoPortAvailable:
		return syscall.EAGAIN
	case *tcpip.ErrNotConnected:
		return syscall.ENOTCONN
	case *tcpip.ErrAlreadyConnected:
		return syscall.EISCONN
	case *tcpip.ErrAlreadyConnecting, *tcpip.ErrConnectStarted:
		return syscall.EALREADY
	case *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState, *tcpip.ErrInvalidOptionValue:
		return syscall.EINVAL
	case *tcpip.ErrMessageTooLong:
		return syscall.EMSGSIZE
	case *tcpip.ErrNoBufferSpace:
		return syscall.ENOBUFS
	case *tcpip.ErrDestinationRequired:
		return syscall.EDESTADDRREQ
	case *tcpip.ErrBroadcastDisabled, *tcpip.ErrNotPermitted:
		return syscall.EACCES
	case *tcpip.ErrAddressFamilyNotSupported:
		return syscall.EAFNOSUPPORT
	case *tcpip.ErrNotSupported, *tcpip.ErrQueueSizeNotSupported, *tcpip.ErrUnknownProtocolOption:
		return syscall.EOPNOTSUPP
	case *tcpip.ErrWouldBlock:
		return syscall.EAGAIN
	}
	return &unmappedError{err}
}

// unmappedError is a gVisor error with no Linux counterpart; its text is
// gVisor's.
type unmappedError struct{ err tcpip.Error }

func (e *unmappedError) Error() string { return e.err.String() }
