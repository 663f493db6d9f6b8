//go:build tamago

package unikernel

import (
	"context"
	"fmt"
	"strings"

	"tamanet/netstack"
	"tamanet/pktgen"
	"tamanet/unikernel/bootopt"
)

// runPktgen runs the NIC as boot option pktgen= asks, instead of the
// network stack: brought up as for serving, attached to package pktgen,
// its lines on the console. It returns only with an error; after a
// transmit run the machine idles, for the host to read the line and stop
// it.
func runPktgen(n *nic, opts bootopt.Options, boot *bootLog) error {
	// Attached before the interrupt is hooked, as the stack would be, so
	// the link change latched by reset reaches it.
	g := pktgen.New(n.watchLink(), n.pktgenCounters)
	var err error
	if n.irq, err = n.hookIRQ(); err != nil {
		return err
	}
	go n.dev.NAPI().Run(context.Background())
	go n.watchdog(watchdogPeriod)
	go n.logLink(boot)
	if opts.Pktgen == pktgen.ModeSink {
		g.StartSink(func(r pktgen.SinkReport) { fmt.Println(r) }, nil)
	}
	// The contract's device names: e1000, virtio.
	fmt.Println(pktgen.ReadyLine(opts.Pktgen, strings.TrimSuffix(n.kind, "-net"), n.dev.MAC()))
	if opts.Pktgen != pktgen.ModeSink {
		flow := pktgen.Flow{EthDst: opts.PktgenDst, EthSrc: n.dev.MAC(), IPSrc: bootopt.DefaultAddr.Addr(), IPDst: netstack.DefaultGateway}
		if opts.Addr.IsValid() {
			flow.IPSrc = opts.Addr.Addr()
		}
		if opts.Gateway.IsValid() {
			flow.IPDst = opts.Gateway
		}
		r, err := g.Transmit(pktgen.TxSpec{Mode: opts.Pktgen, Size: opts.PktgenSize, Duration: opts.PktgenDuration, Flow: flow},
			func(line string) { fmt.Println(line) })
		if err != nil {
			return err
		}
		fmt.Println(r)
	}
	select {}
}
