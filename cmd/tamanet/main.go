//go:build tamago

// Command tamanet is the unikernel: it finds the e1000 on the PCI bus,
// drives it with interrupts and a NAPI poll loop, runs the gVisor netstack
// on it and serves cmd/internal/service (the same handlers as the Linux
// baseline):
//
//	tcp/80  HTTP: GET / (hello), /stats (JSON of every layer's counters),
//	        /metrics (Prometheus text), /bytes?n=N, POST /echo,
//	        /debug/pcap?packets=N&seconds=S&snaplen=L (live capture)
//	tcp/7   echo
//	udp/7   echo
//
// Boot options come from the kernel command line (QEMU -append), see
// internal/bootopt: napi=napi|interrupt|busypoll selects how the NIC is
// serviced, budget=N the NAPI budget, mitigation=off turns the NIC's
// interrupt moderation off.
//
// The console shows the boot phases ("boot:" lines, each with its time
// since the virtual machine started), one line starting with "READY" once
// every listener is bound, which also says whether the NIC has received
// anything yet, and a line for every carrier change. If bring-up fails the image
// says why and leaves QEMU with status 3 (isa-debug-exit: (1<<1)|1).
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"tamanet/board"
	"tamanet/cmd/internal/service"
	"tamanet/cmd/tamanet/internal/bootopt"
	"tamanet/e1000"
	"tamanet/kernel"
	"tamanet/napi"
	"tamanet/netif"
	"tamanet/netif/pcaphttp"
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
	// SeaBIOS leaves the cursor mid-line.
	fmt.Println()
	boot := newBootLog()
	boot.mark(phaseMain)
	opts, err := bootopt.Parse(board.CommandLine())
	if err != nil {
		return err
	}
	// The NIC comes first: QEMU's e1000 receives nothing until a second
	// after receive is enabled, so everything done before that write adds
	// to the time to the first answer, and everything after it until the
	// second is up is free.
	cfg := e1000.Config{
		NAPI:  napi.Config{Mode: opts.Mode, Budget: opts.Budget},
		Event: boot.driverEvent,
	}
	if opts.NoMitigation {
		cfg.Mitigation = &e1000.Mitigation{}
	}
	n, err := bringUpNIC(cfg, boot)
	if err != nil {
		return err
	}
	if n.dev.LinkUp() {
		boot.mark(phaseLinkUp)
	}
	go boot.printLate()
	if err := kernel.Init(); err != nil {
		return err
	}
	boot.mark(phaseIRQ)
	boot.flush()
	// The stack attaches to the driver before the interrupt is hooked, so
	// the link change latched by reset reaches it.
	st, err := netif.NewStack(n.watchLink(), netif.Config{})
	if err != nil {
		return err
	}
	boot.mark(phaseStack)
	if err := n.hookIRQ(); err != nil {
		return err
	}
	go n.dev.NAPI().Run(context.Background())
	go n.watchdog(watchdogPeriod)
	go n.logLink(boot)

	sys := &system{nic: n, stack: st, boot: boot, mode: opts.Mode, budget: n.dev.NAPI().Budget(), mitigation: !opts.NoMitigation}
	svc := service.New(service.Config{
		Name:  "tamanet",
		Stats: func() any { return sys.stats() },
		Routes: map[string]http.Handler{
			"GET /debug/pcap": pcaphttp.Handler(st),
		},
	})
	if err := serve(svc, st); err != nil {
		return err
	}
	boot.mark(phaseReady)
	fmt.Printf("READY tamanet http://%v:%d/ echo tcp+udp %d, napi=%v budget=%d mitigation=%s, irq %s; %s\n",
		st.Addr().Addr(), httpPort, echoPort, opts.Mode, n.dev.NAPI().Budget(), onOff(sys.mitigation), n.irqDesc(), receiving(boot))
	select {} // the service goroutines run until QEMU stops
}

// receiving says whether the NIC has received anything yet, for the READY
// line: listening is not the same as reachable.
func receiving(boot *bootLog) string {
	if at, ok := boot.at(phaseFirstRx); ok {
		return fmt.Sprintf("receiving since %.1f ms", ms(at))
	}
	if at, ok := boot.at(phaseRxEnabled); ok {
		return fmt.Sprintf("no frame received yet (QEMU's e1000 holds them back until %.1f ms)", ms(at+rxHold))
	}
	return "receive not enabled"
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
