//go:build !tamago

package main

import (
	"strings"
	"testing"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
)

// TestINTxSlot boots the unikernel under qboot (vm's default) with its NIC
// on INTx in slot 6, where qboot's Interrupt Line names IRQ 11 but QEMU's
// PIIX3 delivers PIRQB on IRQ 10: the e1000 on pc and q35, and a
// legacy-only virtio-net (INTx, no MSI-X) on pc. The READY line must name
// the chipset's route, and a download must be served, with interrupts.
func TestINTxSlot(t *testing.T) {
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	for _, c := range []struct{ name, machine, nic, route string }{
		{"e1000/pc", "pc", "e1000,addr=6", "INTA PIIX3 PIRQB -> IRQ 10 -> GSI 10 level/high"},
		{"e1000/q35", "q35", "e1000,addr=6", "INTA ICH9 PIRQG -> GSI 22 -> GSI 22 level/high"},
		{"virtio-legacy/pc", "pc", "virtio,disable-modern=on,addr=6", "INTA PIIX3 PIRQB -> IRQ 10 -> GSI 10 level/high"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := bootGuestOn(t, vm.Config{Image: image, Machine: c.machine, NIC: c.nic})
			if !strings.Contains(g.ready.Text, "irq "+c.route+";") {
				t.Errorf("READY line does not name the route %q: %s", c.route, g.ready.Text)
			}
			t.Run("root", g.testRoot)
			t.Run("download", func(t *testing.T) {
				if d := g.testDownload(t, downloadBytes, true); d.irqs == 0 {
					t.Errorf("no interrupts during the download: %v", d)
				}
			})
		})
	}
}
