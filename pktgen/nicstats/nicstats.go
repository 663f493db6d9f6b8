// Package nicstats reads the counters pktgen reports from each driver of
// tamanet's: the e1000's statistics registers and drop counters, and
// virtio-net's drop counters (its device keeps no statistics).
package nicstats

import (
	"tamanet/e1000"
	"tamanet/pktgen"
	"tamanet/virtio/virtionet"
)

// Both drivers are what pktgen drives.
var (
	_ pktgen.Driver = (*e1000.Device)(nil)
	_ pktgen.Driver = (*virtionet.Device)(nil)
)

// E1000 returns the reader of d's counters.
func E1000(d *e1000.Device) func() pktgen.Counters {
	return func() pktgen.Counters {
		hw := d.ReadHWStats()
		s := d.Stats()
		return pktgen.Counters{
			Device:      true,
			DevTxFrames: hw.GoodPacketsTx, DevTxBytes: hw.GoodOctetsTx,
			DevRxFrames: hw.GoodPacketsRx, DevRxBytes: hw.GoodOctetsRx,
			DevRxMissed: hw.MissedPackets,
			TxDrops:     s.TX.Drops(), RxErrors: s.RX.Drops(),
		}
	}
}

// VirtioNet returns the reader of d's counters.
func VirtioNet(d *virtionet.Device) func() pktgen.Counters {
	return func() pktgen.Counters {
		s := d.Stats()
		return pktgen.Counters{TxDrops: s.TX.Drops(), RxErrors: s.RX.Drops()}
	}
}
