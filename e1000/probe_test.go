package e1000

import (
	"errors"
	"testing"

	"tamanet/e1000/model"
	"tamanet/pci"
	"tamanet/pci/pcitest"
)

// TestProbe binds the driver to the e1000 of a fake QEMU -M pc bus and
// brings it up on the model standing in for BAR 0.
func TestProbe(t *testing.T) {
	m := model.New(model.Config{MAC: testMAC, ManualClock: true})
	t.Cleanup(m.Close)
	var reg pci.Registry
	var bound *Device
	var boundPCI *pci.Device
	var mapped pci.BAR
	err := Register(&reg, Platform{
		Map: func(bar pci.BAR) (Registers, error) {
			mapped = bar
			return m, nil
		},
		DMA: m.DMA(),
		Bound: func(d *Device, pd *pci.Device) error {
			bound, boundPCI = d, pd
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	bus, err := pci.Enumerate(pcitest.QEMUPC(), &reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Probe(); err != nil {
		t.Fatal(err)
	}
	if bound == nil || boundPCI.VendorID != VendorIntel || boundPCI.DeviceID != Device82540EM || boundPCI.Driver != "e1000" {
		t.Fatalf("driver not bound to 8086:100e (bound %v)", boundPCI)
	}
	if mapped.Index != 0 || mapped.Kind != pci.BARMem32 || mapped.Size != 0x20000 {
		t.Errorf("mapped %v, want the 128 KiB memory BAR 0", mapped)
	}
	if cmd := boundPCI.Command(); cmd&(pci.COMMAND_MEMORY_SPACE|pci.COMMAND_BUS_MASTER) != pci.COMMAND_MEMORY_SPACE|pci.COMMAND_BUS_MASTER {
		t.Errorf("command register %#x: memory space and bus master not enabled", cmd)
	}
	if bound.MAC() != testMAC || !bound.LinkUp() {
		t.Error("bound device not initialised")
	}
	for _, d := range bus.Devices {
		if d != boundPCI && d.Driver == "e1000" {
			t.Errorf("%s (%04x:%04x) bound to e1000", d.Addr, d.VendorID, d.DeviceID)
		}
	}
}

func TestProbeMapError(t *testing.T) {
	var reg pci.Registry
	errMap := errors.New("no MMIO window")
	if err := Register(&reg, Platform{Map: func(pci.BAR) (Registers, error) { return nil, errMap }}); err != nil {
		t.Fatal(err)
	}
	bus, _ := pci.Enumerate(pcitest.QEMUPC(), &reg)
	if err := bus.Probe(); !errors.Is(err, errMap) {
		t.Errorf("probe error %v, want the mapping error", err)
	}
}
