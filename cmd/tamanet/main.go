//go:build tamago

// Command tamanet is the benchmark unikernel, built on package unikernel:
// it serves cmd/internal/service (the same handlers as the Linux baseline)
// on the e1000:
//
//	tcp/80  HTTP: GET / (hello), /stats (JSON of every layer's counters),
//	        /metrics (Prometheus text), /bytes?n=N, POST /echo
//	tcp/7   echo
//	udp/7   echo
//
// With boot option admin=PORT the debug routes (profiles, packet capture,
// latency trace, forced GC) are served on PORT, to adminallow='s peers;
// tcp/80 answers 404 under /debug/ either way.
//
// With boot option pktgen=tx|tso|sink it serves nothing: the NIC runs as a
// packet generator or receive sink (package tamanet/pktgen), for the
// device's ceiling.
//
// Boot options come from the kernel command line (QEMU -append), see
// tamanet/unikernel/bootopt.
package main

import (
	"fmt"
	"os"

	"tamanet/board"
	"tamanet/cmd/internal/service"
	"tamanet/unikernel"
)

// Ports the service listens on.
const (
	httpPort = 80
	echoPort = 7
)

func main() {
	sys := unikernel.MustStart("tamanet")
	svc := service.New(service.Config{
		Name:   "tamanet",
		Stats:  func() any { return sys.Stats() },
		Routes: sys.ServiceRoutes(),
	})
	if err := serve(svc, sys); err != nil {
		unikernel.Exit(err)
	}
	sys.Ready(fmt.Sprintf("http :%d, echo tcp+udp :%d", httpPort, echoPort))
	go sys.WarmUpHTTP(httpPort)
	select {} // the service goroutines run until QEMU stops
}

// serve binds every listener and starts their servers. A server that stops
// ends the program: the unikernel exists to serve.
func serve(svc *service.Service, sys *unikernel.System) error {
	httpLn, err := sys.ListenTCP(httpPort)
	if err != nil {
		return err
	}
	echoLn, err := sys.ListenTCP(echoPort)
	if err != nil {
		return err
	}
	echoPC, err := sys.ListenUDP(echoPort)
	if err != nil {
		return err
	}
	fail := func(what string, serve func() error) {
		err := serve()
		fmt.Fprintf(os.Stderr, "tamanet: %s server stopped: %v\n", what, err)
		board.Exit(1)
	}
	go fail("http", func() error { return svc.HTTPServer().Serve(httpLn) })
	go fail("tcp echo", func() error { return svc.ServeTCPEcho(echoLn) })
	go fail("udp echo", func() error { return svc.ServeUDPEcho(echoPC) })
	return nil
}
