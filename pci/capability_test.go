package pci_test

import (
	"errors"
	"slices"
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

func caps(offIDs ...uint8) []pci.Capability {
	var c []pci.Capability
	for i := 0; i < len(offIDs); i += 2 {
		c = append(c, pci.Capability{Offset: offIDs[i], ID: offIDs[i+1]})
	}
	return c
}

func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*pcitest.Function)
		want  []pci.Capability
		err   error
	}{
		{"none", func(f *pcitest.Function) {}, nil, nil},
		{"pointer without the status bit", func(f *pcitest.Function) {
			f.SetRegister(pci.CAPABILITIES_POINTER, 0x40, 0)
			f.SetCapability(0x40, pci.CAP_ID_PM, 0)
		}, nil, nil},
		{"chain", func(f *pcitest.Function) {
			f.SetCapabilityPointer(0xdc).SetCapability(0xdc, pci.CAP_ID_PM, 0xe4).
				SetCapability(0xe4, pci.CAP_ID_PCIX, 0x40).SetCapability(0x40, pci.CAP_ID_MSI, 0)
		}, caps(0xdc, pci.CAP_ID_PM, 0xe4, pci.CAP_ID_PCIX, 0x40, pci.CAP_ID_MSI), nil},
		{"reserved low pointer bits ignored", func(f *pcitest.Function) {
			f.SetCapabilityPointer(0x43).SetCapability(0x40, pci.CAP_ID_MSI, 0x52).
				SetCapability(0x50, pci.CAP_ID_MSIX, 0x01)
		}, caps(0x40, pci.CAP_ID_MSI, 0x50, pci.CAP_ID_MSIX), nil},
		{"loop", func(f *pcitest.Function) {
			f.SetCapabilityPointer(0x40).SetCapability(0x40, pci.CAP_ID_PM, 0x50).
				SetCapability(0x50, pci.CAP_ID_MSI, 0x40)
		}, caps(0x40, pci.CAP_ID_PM, 0x50, pci.CAP_ID_MSI), pci.ErrCapabilityLoop},
		{"self loop", func(f *pcitest.Function) {
			f.SetCapabilityPointer(0x80).SetCapability(0x80, pci.CAP_ID_VENDOR, 0x80)
		}, caps(0x80, pci.CAP_ID_VENDOR), pci.ErrCapabilityLoop},
		{"first pointer into the header", func(f *pcitest.Function) {
			f.SetCapabilityPointer(0x20)
		}, nil, pci.ErrCapabilityPointer},
		{"next pointer into the header", func(f *pcitest.Function) {
			f.SetCapabilityPointer(0x60).SetCapability(0x60, pci.CAP_ID_PCIE, 0x3c)
		}, caps(0x60, pci.CAP_ID_PCIE), pci.ErrCapabilityPointer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := oneFunction(pcitest.Header{VendorID: 0x1234, DeviceID: 0x5678})
			tc.setup(f)
			b, err := pci.Enumerate(s, &pci.Registry{})
			d := b.Devices[0]
			if !slices.Equal(d.Capabilities, tc.want) {
				t.Errorf("capabilities %v, want %v", d.Capabilities, tc.want)
			}
			if tc.err == nil && err != nil || !errors.Is(err, tc.err) || !errors.Is(d.Err, tc.err) {
				t.Errorf("err %v, device err %v, want %v", err, d.Err, tc.err)
			}
		})
	}
}

// TestCapabilitiesLongestList: the loop guard must not cut short a legal
// list using every dword of the device-specific region.
func TestCapabilitiesLongestList(t *testing.T) {
	s, f := oneFunction(pcitest.Header{VendorID: 0x1234, DeviceID: 0x5678})
	f.SetCapabilityPointer(0xfc)
	var want []pci.Capability
	for off := 0xfc; off >= 0x40; off -= 4 {
		next := uint8(off - 4)
		if off == 0x40 {
			next = 0
		}
		f.SetCapability(uint8(off), pci.CAP_ID_VENDOR, next)
		want = append(want, pci.Capability{ID: pci.CAP_ID_VENDOR, Offset: uint8(off)})
	}
	d := enumerate(t, s).Devices[0]
	if len(d.Capabilities) != 48 || !slices.Equal(d.Capabilities, want) {
		t.Errorf("%d capabilities, want 48", len(d.Capabilities))
	}
}

func TestCapabilitiesCardBus(t *testing.T) {
	s, f := oneFunction(pcitest.Header{VendorID: 0x104c, DeviceID: 0xac56, BaseClass: pci.ClassBridge,
		SubClass: 0x07, HeaderType: pci.HEADER_TYPE_CARDBUS})
	f.SetCapabilityPointer(0x80).SetCapability(0x80, pci.CAP_ID_PM, 0)
	if f.Peek32(pci.CARDBUS_CAPABILITY_PTR)&0xFF != 0x80 {
		t.Fatal("fake did not put the CardBus capability pointer at 0x14")
	}
	d := enumerate(t, s).Devices[0]
	if !slices.Equal(d.Capabilities, caps(0x80, pci.CAP_ID_PM)) {
		t.Errorf("capabilities %v", d.Capabilities)
	}
}

func TestFindCapability(t *testing.T) {
	b := enumerate(t, pcitest.QEMUPC())
	virtio := b.Devices[6]
	if off, ok := virtio.FindCapability(pci.CAP_ID_MSIX); !ok || off != 0x98 {
		t.Errorf("MSI-X at %#x, %v; want 0x98", off, ok)
	}
	if off, ok := virtio.FindCapability(pci.CAP_ID_VENDOR); !ok || off != 0x84 {
		t.Errorf("first vendor capability at %#x, %v; want 0x84", off, ok)
	}
	if _, ok := virtio.FindCapability(pci.CAP_ID_PCIE); ok {
		t.Error("found a PCI Express capability the device does not have")
	}
}
