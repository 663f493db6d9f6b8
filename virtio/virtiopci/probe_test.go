package virtiopci_test

import (
	"errors"
	"strings"
	"testing"

	"tamanet/devmodel/arena"
	"tamanet/pci"
	"tamanet/pci/pcitest"
	"tamanet/virtio"
	"tamanet/virtio/model"
	"tamanet/virtio/virtiopci"
)

const (
	ioBase  = 0xc000
	memBase = 0xfe000000
)

// function puts a virtio PCI function at 00:04.0 of s with deviceID
// (subsystem ID sub), a legacy I/O BAR 0 if io, and the modern vendor
// capabilities pointing into the 64-bit memory BAR 4 laid out as the
// model lays it out (model.PCICommon...), the notify capability with its
// multiplier, then MSI-X.
func function(s *pcitest.Space, deviceID, sub uint16, io bool) {
	f := s.Add(pci.Address{Device: 4}, pcitest.Header{VendorID: virtio.VendorID, DeviceID: deviceID,
		SubsystemVendorID: virtio.VendorID, SubsystemID: sub, InterruptPin: 1})
	if io {
		f.SetBAR(0, pcitest.BAR{Kind: pci.BARIO, Addr: ioBase, Size: 0x40})
	}
	f.SetBAR(4, pcitest.BAR{Kind: pci.BARMem64, Prefetchable: true, Addr: memBase, Size: model.PCIBARSize})
	f.SetCapabilityPointer(0x40)
	caps := []struct {
		at, next, typ uint8
		off           uint32
	}{
		{0x40, 0x50, virtiopci.VIRTIO_PCI_CAP_COMMON_CFG, model.PCICommon},
		{0x50, 0x60, virtiopci.VIRTIO_PCI_CAP_ISR_CFG, model.PCIISR},
		{0x60, 0x70, virtiopci.VIRTIO_PCI_CAP_DEVICE_CFG, model.PCIDevice},
		{0x70, 0x98, virtiopci.VIRTIO_PCI_CAP_NOTIFY_CFG, model.PCINotify},
	}
	for _, c := range caps {
		length := uint32(16)
		if c.typ == virtiopci.VIRTIO_PCI_CAP_NOTIFY_CFG {
			length = 20
			f.SetRegister(c.at+16, model.PCINotifyMult, 0)
		}
		f.SetRegister(c.at, pci.CAP_ID_VENDOR|uint32(c.next)<<8|length<<16|uint32(c.typ)<<24, 0)
		f.SetRegister(c.at+4, 4, 0) // bar 4, id 0
		f.SetRegister(c.at+8, c.off, 0)
		f.SetRegister(c.at+12, model.PCIPage, 0)
	}
	f.SetCapability(0x98, pci.CAP_ID_MSIX, 0)
}

// bound is what a binder saw.
type bound struct {
	transport string
	addr      pci.Address
	features  uint64
}

// probe enumerates s with virtio-pci registered for entropy devices in
// front of one model device (both its legacy block and its memory BAR)
// and returns what the binder saw and the function.
func probe(t *testing.T, s *pcitest.Space, p virtiopci.Platform) ([]bound, *pci.Device) {
	t.Helper()
	mem := arena.New(64 << 10)
	d := model.New(model.Spec{DeviceID: virtio.DeviceEntropy, QueueMax: []uint16{8}, Memory: mem}, nopBackend{})
	if p.MapMemory == nil {
		p.MapMemory = func(bar pci.BAR) (virtio.Window, error) {
			if bar.Addr != memBase {
				return nil, errors.New("not the model's BAR")
			}
			return d.ModernPCI(), nil
		}
	}
	p.MapIO = func(bar pci.BAR) (virtio.Ports, error) { return d.LegacyPCI(), nil }
	var got []bound
	p.Bind = map[uint16]virtiopci.Binder{virtio.DeviceEntropy: func(tr virtio.Transport, pd *pci.Device) error {
		dev, err := virtio.Init(tr, 0)
		if err != nil {
			return err
		}
		got = append(got, bound{tr.Name(), pd.Addr, dev.Features()})
		return nil
	}}
	var reg pci.Registry
	if err := virtiopci.Register(&reg, p); err != nil {
		t.Fatal(err)
	}
	bus, _ := pci.Enumerate(s, &reg)
	bus.Probe()
	return got, s2dev(bus)
}

func s2dev(bus *pci.Bus) *pci.Device {
	for _, d := range bus.Devices {
		if d.Addr == (pci.Address{Device: 4}) {
			return d
		}
	}
	return nil
}

type nopBackend struct{}

func (nopBackend) Reset()        {}
func (nopBackend) Notify(uint16) {}

// TestTransportChoice: the modern capabilities are preferred; the legacy
// I/O BAR serves when asked to or when the memory BAR does not map (as a
// 64-bit BAR above the board's MMIO range would not); a modern-only
// device without a mappable BAR is refused with a clear error; memory,
// I/O and bus mastering are enabled as the transport needs.
func TestTransportChoice(t *testing.T) {
	modernBit := virtio.Bit(virtio.VIRTIO_F_VERSION_1)
	for _, c := range []struct {
		name      string
		deviceID  uint16
		io        bool
		p         virtiopci.Platform
		transport string
		features  uint64
		err       string
	}{
		{"transitional", 0x1005, true, virtiopci.Platform{}, "pci-modern", modernBit, ""},
		{"legacy by choice", 0x1005, true, virtiopci.Platform{NoModern: true}, "pci-legacy", 0, ""},
		{"memory BAR unmappable", 0x1005, true, virtiopci.Platform{MapMemory: func(pci.BAR) (virtio.Window, error) {
			return nil, errors.New("above 4 GiB")
		}}, "pci-legacy", 0, ""},
		{"modern only", 0x1044, false, virtiopci.Platform{}, "pci-modern", modernBit, ""},
		{"modern only, unmappable", 0x1044, false, virtiopci.Platform{MapMemory: func(pci.BAR) (virtio.Window, error) {
			return nil, errors.New("above 4 GiB")
		}}, "", 0, "no usable transport: modern: structure type 1: mapping BAR4 mem64 pref 0xfe000000 [size 0x4000]: above 4 GiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := pcitest.New()
			function(s, c.deviceID, virtio.DeviceEntropy, c.io)
			got, pd := probe(t, s, c.p)
			if c.err != "" {
				if len(got) != 0 || pd.ProbeErr == nil || !strings.Contains(pd.ProbeErr.Error(), c.err) || !errors.Is(pd.ProbeErr, virtiopci.ErrNoTransport) {
					t.Errorf("bound %v, error %v; want %q", got, pd.ProbeErr, c.err)
				}
				return
			}
			if want := (bound{c.transport, pd.Addr, c.features}); len(got) != 1 || got[0] != want {
				t.Fatalf("bound %+v, want %+v (probe error %v)", got, want, pd.ProbeErr)
			}
			cmd := pd.Command()
			want := uint16(pci.COMMAND_BUS_MASTER | pci.COMMAND_MEMORY_SPACE)
			if c.transport == "pci-legacy" {
				want = pci.COMMAND_BUS_MASTER | pci.COMMAND_IO_SPACE
			}
			if cmd&want != want || pd.Driver != "virtio-pci" {
				t.Errorf("command %#x, want bits %#x; driver %q", cmd, want, pd.Driver)
			}
		})
	}
}

// TestOnlyBoundTypes: a virtio device of a type the platform has no
// binder for is not claimed at all (another driver may take it).
func TestOnlyBoundTypes(t *testing.T) {
	s := pcitest.New()
	function(s, 0x1000, virtio.DeviceNet, true)
	got, pd := probe(t, s, virtiopci.Platform{})
	if len(got) != 0 || pd.Driver != "" || pd.ProbeErr != nil {
		t.Errorf("bound %v, driver %q, error %v", got, pd.Driver, pd.ProbeErr)
	}
}

// TestDeviceID: transitional IDs carry the type in the subsystem ID,
// modern ones in the device ID.
func TestDeviceID(t *testing.T) {
	for _, c := range []struct {
		vendor, device, sub uint16
		id                  uint16
		ok                  bool
	}{
		{virtio.VendorID, 0x1000, 1, 1, true},
		{virtio.VendorID, 0x1005, 4, 4, true},
		{virtio.VendorID, 0x1041, 0, 1, true},
		{virtio.VendorID, 0x107F, 0, 0x3F, true},
		{virtio.VendorID, 0x1080, 0, 0, false},
		{0x8086, 0x100e, 0, 0, false},
	} {
		id, ok := virtiopci.DeviceID(&pci.Device{VendorID: c.vendor, DeviceID: c.device, SubsystemID: c.sub})
		if id != c.id || ok != c.ok {
			t.Errorf("%04x:%04x/%d: %d, %v; want %d, %v", c.vendor, c.device, c.sub, id, ok, c.id, c.ok)
		}
	}
}
