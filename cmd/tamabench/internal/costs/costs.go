// Package costs reads what moving data cost a guest at its device
// interface, per megabyte (10^6 bytes), from the GET /stats it served after
// a download: transmit notifications (the e1000's TDT writes, a virtqueue's
// kicks: each a trap into QEMU's device model) and interrupts.
//
// Each guest reports them its own way, and the reader takes the first
// source the document has, saying which (Row.From):
//
//   - system.virtio_net: the unikernel's virtio-net driver, per-MB figures
//     worked out here from its counters (the first of each list of
//     candidate paths in virtioPaths that the document holds);
//   - system.cost: the unikernel's own per-MB figures (e1000);
//   - system.irqs and system.counters: the Linux baseline (linuxd), which
//     counts interrupts but not notifications.
package costs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Row is one guest's costs. A figure the guest does not report is NaN.
type Row struct {
	// NotificationsPerMB is transmit notifications per MB transmitted.
	NotificationsPerMB float64
	// IRQsPerMB is interrupts per MB transmitted or received.
	IRQsPerMB float64
	// From names the JSON paths the figures came from.
	From string
}

// virtioPaths are where the virtio-net driver's counters may be, under
// system.virtio_net, in the order tried.
var virtioPaths = struct{ txBytes, rxBytes, notifications, irqs []string }{
	txBytes:       []string{"tx.bytes"},
	rxBytes:       []string{"rx.bytes"},
	notifications: []string{"tx.kicks", "tx.notifies", "tx.notifications", "tx.queue.notifies", "tx.doorbells"},
	irqs:          []string{"device.interrupts", "interrupts", "irq.interrupts", "device.irqs"},
}

// Read works out the costs in a /stats document.
func Read(doc []byte) (Row, error) {
	var root map[string]any
	if err := json.Unmarshal(doc, &root); err != nil {
		return Row{}, fmt.Errorf("costs: %w", err)
	}
	sys, ok := root["system"].(map[string]any)
	if !ok {
		return Row{}, errors.New("costs: no system member")
	}
	if v, ok := sys["virtio_net"].(map[string]any); ok {
		if r, err := fromVirtio(v); err == nil {
			return r, nil
		}
	}
	if c, ok := sys["cost"].(map[string]any); ok {
		n, okN := number(c, "tx_doorbells_per_megabyte")
		i, okI := number(c, "irqs_per_megabyte")
		if okN && okI {
			return Row{n, i, "system.cost.{tx_doorbells_per_megabyte,irqs_per_megabyte}"}, nil
		}
	}
	if irqs, ok := number(sys, "irqs"); ok {
		tx, okT := number(sys, "counters.tx_bytes")
		rx, okR := number(sys, "counters.rx_bytes")
		if okT && okR {
			return Row{math.NaN(), perMB(irqs, tx+rx), "system.irqs / system.counters.{tx,rx}_bytes"}, nil
		}
	}
	return Row{}, errors.New("costs: none of system.virtio_net, system.cost, system.irqs holds the counters")
}

// fromVirtio works the costs out from the virtio-net driver's counters.
func fromVirtio(v map[string]any) (Row, error) {
	p := virtioPaths
	tx, txPath, ok1 := first(v, p.txBytes)
	rx, rxPath, ok2 := first(v, p.rxBytes)
	n, nPath, ok3 := first(v, p.notifications)
	irqs, iPath, ok4 := first(v, p.irqs)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return Row{}, errors.New("costs: system.virtio_net lacks a counter")
	}
	from := fmt.Sprintf("system.virtio_net.{%s / %s, %s / (%s+%s)}", nPath, txPath, iPath, txPath, rxPath)
	return Row{perMB(n, tx), perMB(irqs, tx+rx), from}, nil
}

func perMB(n, bytes float64) float64 {
	if bytes == 0 {
		return 0
	}
	return n * 1e6 / bytes
}

// first is the first of paths m holds a number at.
func first(m map[string]any, paths []string) (float64, string, bool) {
	for _, p := range paths {
		if v, ok := number(m, p); ok {
			return v, p, true
		}
	}
	return 0, "", false
}

// number is the number at dotted path in m.
func number(m map[string]any, path string) (float64, bool) {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		v = obj[k]
	}
	f, ok := v.(float64)
	return f, ok
}
