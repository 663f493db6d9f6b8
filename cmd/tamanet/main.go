//go:build tamago

// Command tamanet is the unikernel: it finds the e1000 on the PCI bus,
// drives it with interrupts and a NAPI poll loop, runs the gVisor netstack
// on it and serves cmd/internal/service (the same handlers as the Linux
// baseline):
//
//	tcp/80  HTTP: GET / (hello), /stats (JSON of every layer's counters),
//	        /metrics (Prometheus text), /bytes?n=N, POST /echo
//	tcp/7   echo
//	udp/7   echo
//
// Boot options come from the kernel command line (QEMU -append), see
// internal/bootopt: napi=napi|interrupt|busypoll selects how the NIC is
// serviced, budget=N the NAPI budget.
//
// The console shows one line starting with "READY" once every listener is
// bound, and a line for every carrier change. If bring-up fails the image
// says why and leaves QEMU with status 3 (isa-debug-exit: (1<<1)|1).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"tamanet/board"
	"tamanet/cmd/internal/service"
	"tamanet/cmd/tamanet/internal/bootopt"
	"tamanet/e1000"
	"tamanet/kernel"
	"tamanet/napi"
	"tamanet/netif"
)

// Ports the service listens on.
const (
	httpPort = 80
	echoPort = 7
)

// watchdogPeriod is how often the driver's housekeeping runs (statistics
// registers, lost completions, transmit hangs).
const watchdogPeriod = time.Second

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "tamanet: %v\n", err)
		board.Exit(1)
	}
}

func run() error {
	start := time.Now()
	// SeaBIOS leaves the cursor mid-line.
	fmt.Println()
	opts, err := bootopt.Parse(board.CommandLine())
	if err != nil {
		return err
	}
	if err := kernel.Init(); err != nil {
		return err
	}
	cfg := e1000.Config{NAPI: napi.Config{Mode: opts.Mode, Budget: opts.Budget}}
	n, err := bringUpNIC(cfg)
	if err != nil {
		return err
	}
	// The stack attaches to the driver before the interrupt is hooked, so
	// the link change latched by reset reaches it.
	st, err := netif.NewStack(n.watchLink(), netif.Config{})
	if err != nil {
		return err
	}
	if err := n.hookIRQ(); err != nil {
		return err
	}
	go n.dev.NAPI().Run(context.Background())
	go n.watchdog(watchdogPeriod)
	go n.logLink()

	sys := &system{nic: n, stack: st, mode: opts.Mode, budget: n.dev.NAPI().Budget()}
	svc := service.New(service.Config{
		Name:    "tamanet",
		Stats:   func() any { return sys.stats() },
		Metrics: sys.metrics,
	})
	if err := serve(svc, st); err != nil {
		return err
	}
	fmt.Printf("READY tamanet http://%v:%d/ echo tcp+udp %d, napi=%v budget=%d, irq %s, %v after main\n",
		st.Addr().Addr(), httpPort, echoPort, opts.Mode, n.dev.NAPI().Budget(), n.irqDesc(),
		time.Since(start).Round(time.Millisecond))
	select {} // the service goroutines run until QEMU stops
}

// serve binds every listener and starts their servers. A server that stops
// ends the program: the unikernel exists to serve.
func serve(svc *service.Service, st *netif.Stack) error {
	httpLn, err := st.ListenTCP(httpPort)
	if err != nil {
		return err
	}
	echoLn, err := st.ListenTCP(echoPort)
	if err != nil {
		return err
	}
	echoPC, err := st.ListenUDP(echoPort)
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
