// Command linuxd is the Linux baseline's server: the init payload of the
// baseline initramfs (bench/linux). It serves cmd/internal/service, the same
// handlers the unikernel runs, over the Linux kernel's network stack, so a
// benchmark against the two guests compares stacks, not applications.
//
// It prints one line starting with "READY" to stdout (the serial console)
// once every listener is bound.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"tamanet/cmd/internal/service"
)

func main() {
	httpAddr := flag.String("http", ":80", "HTTP listen address")
	echoAddr := flag.String("echo", ":7", "TCP and UDP echo listen address")
	name := flag.String("name", "linux", "system name served by GET /")
	ifname := flag.String("if", "eth0", "interface whose counters /stats and /metrics report")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("linuxd: ")

	sys := sysSource{root: "/", ifname: *ifname}
	svc := service.New(service.Config{
		Name:      *name,
		Namespace: "linux",
		Stats:     func() any { return sys.stats() },
	})

	httpLn, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Fatal(err)
	}
	echoLn, err := net.Listen("tcp", *echoAddr)
	if err != nil {
		log.Fatal(err)
	}
	echoPC, err := net.ListenPacket("udp", *echoAddr)
	if err != nil {
		log.Fatal(err)
	}
	errc := make(chan error, 3)
	go func() { errc <- fmt.Errorf("tcp echo: %w", svc.ServeTCPEcho(echoLn)) }()
	go func() { errc <- fmt.Errorf("udp echo: %w", svc.ServeUDPEcho(echoPC)) }()
	go func() { errc <- fmt.Errorf("http: %w", svc.HTTPServer().Serve(httpLn)) }()
	fmt.Fprintf(os.Stdout, "READY linuxd http=%s echo=%s\n", httpLn.Addr(), echoLn.Addr())
	log.Fatal(<-errc)
}
