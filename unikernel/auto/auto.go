//go:build tamago

// Package auto turns an ordinary Go program into a tamanet unikernel by
// being imported:
//
//	import _ "tamanet/unikernel/auto"
//
// Its init brings the system up (unikernel.MustStart, named after the
// main package) before the program's main runs, so the standard library
// works as on Linux: net.Listen, net.Dial, http.ListenAndServe and
// http.Get go through the gVisor stack, names resolve through the
// configured name servers, time.Now is the real time and crypto/x509
// verifies against the system's roots. The READY line is printed when the
// program's first TCP listener is bound.
package auto

import (
	"fmt"
	"net/netip"
	"path"
	"runtime/debug"
	"sync"

	"tamanet/unikernel"
)

func init() {
	sys := unikernel.MustStart(programName())
	var once sync.Once
	sys.Sockets.Listening = func(network string, addr netip.AddrPort) {
		once.Do(func() { sys.Ready(fmt.Sprintf("%s %v", network, addr)) })
	}
}

// programName is the main package's last path element ("stdhttp" for
// tamanet/examples/stdhttp), "app" if the build recorded none.
func programName() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" {
		return path.Base(bi.Path)
	}
	return "app"
}
