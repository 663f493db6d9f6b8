// Package unikernel turns a Go program into a tamanet unikernel: Start
// brings up the board, the kernel's interrupt routing, PCI, the e1000 with
// its NAPI poll loop and the gVisor network stack, configured from the boot
// options on the kernel command line (see package bootopt), and the program
// gets ordinary net.Listener and net.PacketConn values to serve on:
//
//	func main() {
//		sys := unikernel.MustStart("kv")
//		l, err := sys.ListenTCP(80)
//		if err != nil {
//			unikernel.Exit(err)
//		}
//		sys.Ready("http :80")
//		http.Serve(l, sys.Handler(myHandler))
//	}
//
// sys.Handler adds the system's GET /stats and GET /metrics to the
// application's routes, and answers 404 under /debug/. The debug routes
// (profiles, packet capture, latency trace, forced GC: what reveals traffic
// or memory) exist only when boot option admin=PORT opens the admin
// listener, which accepts connections only from adminallow='s prefixes
// (package admin). Build the image with `make image APP=./path/to/cmd` and
// boot it with `make run APP=...` (`make run ADMIN=8081` for the admin
// listener).
//
// Random numbers (crypto/rand, which gVisor's TCP initial sequence
// numbers and port secrets come from) come from RDRAND, or on a CPU
// without it from a virtio-rng device (QEMU: -device virtio-rng-pci);
// with neither, Start fails and names the QEMU flags, unless the boot
// option rng=insecure accepts a predictable generator.
//
// time.Now is the CMOS RTC's time from boot on (the kernel sets it), and
// with boot option ntp=ADDR an SNTP server's (package sntp), checked again
// every 1024 s; the console, the READY line and /stats (system.wall_clock,
// system.ntp) say which and when.
//
// The console shows the boot phases ("boot:" lines with their time since
// the virtual machine started), one READY line (Ready) and a line for every
// carrier change. A bad boot option or missing hardware makes Start return
// an error that says which; MustStart and Exit print it and leave QEMU with
// status 3 (isa-debug-exit: (1<<1)|1) instead of hanging.
//
// With boot option pktgen=tx|tso|sink, Start brings the NIC up as usual but
// runs it under package pktgen instead of the stack, prints the PKTGEN
// lines and does not return (unless with an error): a measurement of what
// the device can do with no stack on top.
package unikernel
