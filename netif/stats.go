package netif

import (
	"fmt"
	"reflect"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// counters are the endpoint's own statistics, updated without locks.
type counters struct {
	rxFrames, rxBytes, rxCsumOK, rxRunt, rxDetached atomic.Uint64
	txFrames, txBytes, txBackpressure, txReady      atomic.Uint64
	txDropTooBig, txDropLinkDown, txDropClosed      atomic.Uint64
	linkUp, linkDown                                atomic.Uint64
}

// Counters is a snapshot of an Endpoint's statistics. Frame sizes include
// the Ethernet header and exclude the FCS.
type Counters struct {
	// RxFrames and RxBytes count every frame the driver delivered.
	RxFrames uint64 `json:"rx_frames"`
	RxBytes  uint64 `json:"rx_bytes"`
	// RxCsumOK counts frames whose checksums the device reported verified.
	RxCsumOK uint64 `json:"rx_csum_ok"`
	// RxRunt counts frames shorter than an Ethernet header, dropped.
	RxRunt uint64 `json:"rx_runt"`
	// RxDetached counts frames dropped because no stack was attached.
	RxDetached uint64 `json:"rx_detached"`

	// TxFrames and TxBytes count frames the driver accepted.
	TxFrames uint64 `json:"tx_frames"`
	TxBytes  uint64 `json:"tx_bytes"`
	// TxBackpressure counts Transmit calls that found the ring full and
	// made WritePackets wait for TxReady.
	TxBackpressure uint64 `json:"tx_backpressure"`
	// TxReady counts the driver's ring-drained upcalls.
	TxReady uint64 `json:"tx_ready"`
	// TxDropTooBig counts packets larger than the MTU, dropped.
	TxDropTooBig uint64 `json:"tx_drop_too_big"`
	// TxDropLinkDown counts frames dropped because carrier was down.
	TxDropLinkDown uint64 `json:"tx_drop_link_down"`
	// TxDropClosed counts frames dropped because the endpoint was closed.
	TxDropClosed uint64 `json:"tx_drop_closed"`

	// LinkUp and LinkDown count carrier transitions read from the driver.
	LinkUp   uint64 `json:"link_up"`
	LinkDown uint64 `json:"link_down"`
	// Carrier is the current carrier state.
	Carrier bool `json:"carrier"`
}

// TxDrops is the number of frames netif dropped on transmit, all reasons.
func (c Counters) TxDrops() uint64 {
	return c.TxDropTooBig + c.TxDropLinkDown + c.TxDropClosed
}

// Counters returns a snapshot of the endpoint's statistics.
func (e *Endpoint) Counters() Counters {
	return Counters{
		RxFrames:       e.c.rxFrames.Load(),
		RxBytes:        e.c.rxBytes.Load(),
		RxCsumOK:       e.c.rxCsumOK.Load(),
		RxRunt:         e.c.rxRunt.Load(),
		RxDetached:     e.c.rxDetached.Load(),
		TxFrames:       e.c.txFrames.Load(),
		TxBytes:        e.c.txBytes.Load(),
		TxBackpressure: e.c.txBackpressure.Load(),
		TxReady:        e.c.txReady.Load(),
		TxDropTooBig:   e.c.txDropTooBig.Load(),
		TxDropLinkDown: e.c.txDropLinkDown.Load(),
		TxDropClosed:   e.c.txDropClosed.Load(),
		LinkUp:         e.c.linkUp.Load(),
		LinkDown:       e.c.linkDown.Load(),
		Carrier:        e.carrier.Load(),
	}
}

// statIndex is every counter of a tcpip.Stats, found by reflection once.
// The counters are pointers that stay put for the stack's life, so reading
// them later needs no reflection.
type statIndex struct {
	names    []string
	counters []*tcpip.StatCounter
	mapNames []string
	maps     []*tcpip.IntegralStatCounterMap
}

// indexStats walks s and records each counter under its dotted field path,
// e.g. "TCP.ActiveConnectionOpenings". Embedded structs add no path element.
func indexStats(s tcpip.Stats) *statIndex {
	x := &statIndex{}
	x.walk(reflect.ValueOf(s), "")
	return x
}

func (x *statIndex) walk(v reflect.Value, prefix string) {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		name := prefix + f.Name
		if f.Anonymous {
			name = prefix
		}
		switch p := fv.Interface().(type) {
		case *tcpip.StatCounter:
			if p != nil {
				x.names = append(x.names, name)
				x.counters = append(x.counters, p)
			}
		case *tcpip.IntegralStatCounterMap:
			if p != nil {
				x.mapNames = append(x.mapNames, name)
				x.maps = append(x.maps, p)
			}
		default:
			if fv.Kind() == reflect.Struct {
				if f.Anonymous {
					x.walk(fv, prefix)
				} else {
					x.walk(fv, name+".")
				}
			}
		}
	}
}

// snapshot reads every counter into a new map. Keyed counters (such as
// NICs.UnknownL3ProtocolRcvdPacketCounts) appear once per key, as name.key.
func (x *statIndex) snapshot() map[string]uint64 {
	m := make(map[string]uint64, len(x.names)+4)
	for i, c := range x.counters {
		m[x.names[i]] = c.Value()
	}
	for i, cm := range x.maps {
		for _, k := range cm.Keys() {
			if c, ok := cm.Get(k); ok {
				m[fmt.Sprintf("%s.%d", x.mapNames[i], k)] = c.Value()
			}
		}
	}
	return m
}
