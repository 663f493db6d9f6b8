// Package costs reads what moving data cost a guest at its device
// interface, per megabyte (10^6 bytes), from the GET /stats it served after
// a download: transmit notifications (the e1000's TDT writes, virtio-net's
// transmit queue notifications: each a trap into QEMU's device model) and
// interrupts.
//
// Each guest reports them its own way; the reader takes the first source
// the document has and says which (Row.From):
//
//   - system.cost: the unikernel's own per-MB figures, worked out from
//     system.nic_totals whichever NIC it serves;
//   - system.irqs over system.counters: the Linux baseline (linuxd), which
//     counts interrupts but not notifications.
package costs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"tamanet/cmd/tamabench/internal/jsonpath"
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
	n, okN := jsonpath.Number(sys, "cost.tx_doorbells_per_megabyte")
	i, okI := jsonpath.Number(sys, "cost.irqs_per_megabyte")
	if okN && okI {
		return Row{n, i, "system.cost.{tx_doorbells_per_megabyte,irqs_per_megabyte}"}, nil
	}
	irqs, ok1 := jsonpath.Number(sys, "irqs")
	tx, ok2 := jsonpath.Number(sys, "counters.tx_bytes")
	rx, ok3 := jsonpath.Number(sys, "counters.rx_bytes")
	if ok1 && ok2 && ok3 {
		return Row{math.NaN(), perMB(irqs, tx+rx), "system.irqs / system.counters.{tx,rx}_bytes"}, nil
	}
	return Row{}, errors.New("costs: neither system.cost (unikernel) nor system.irqs and system.counters (Linux)")
}

func perMB(n, bytes float64) float64 {
	if bytes == 0 {
		return 0
	}
	return n * 1e6 / bytes
}
