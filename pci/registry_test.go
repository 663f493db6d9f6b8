package pci_test

import (
	"errors"
	"strings"
	"testing"

	"tamanet/pci"
	"tamanet/pci/pcitest"
)

var e1000ID = pci.ID{Vendor: 0x8086, Device: 0x100e}

func TestRegisterRejects(t *testing.T) {
	ok := func(*pci.Device) error { return nil }
	for _, tc := range []struct {
		name string
		drv  pci.Driver
	}{
		{"no name", pci.Driver{IDs: []pci.ID{e1000ID}, Probe: ok}},
		{"space in name", pci.Driver{Name: "e 1000", IDs: []pci.ID{e1000ID}, Probe: ok}},
		{"no probe", pci.Driver{Name: "e1000", IDs: []pci.ID{e1000ID}}},
		{"matches nothing", pci.Driver{Name: "e1000", Probe: ok}},
	} {
		var r pci.Registry
		if err := r.Register(tc.drv); !errors.Is(err, pci.ErrDriver) {
			t.Errorf("%s: err %v, want ErrDriver", tc.name, err)
		}
	}
	var r pci.Registry
	if err := r.Register(pci.Driver{Name: "e1000", IDs: []pci.ID{e1000ID}, Probe: ok}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	dup := pci.Driver{Name: "e1000", Classes: []pci.Class{{Base: 0x02}}, Probe: func(*pci.Device) error { calls++; return nil }}
	if err := r.Register(dup); !errors.Is(err, pci.ErrDriver) {
		t.Errorf("duplicate: err %v, want ErrDriver", err)
	}
	b, _ := pci.Enumerate(pcitest.QEMUPC(), &r)
	if err := b.Probe(); err != nil || calls != 0 {
		t.Errorf("rejected driver was kept: probe err %v, %d calls", err, calls)
	}
}

func TestProbe(t *testing.T) {
	var r pci.Registry
	var log []string
	record := func(name string, err error) func(*pci.Device) error {
		return func(d *pci.Device) error {
			log = append(log, name+" "+d.Addr.String())
			return err
		}
	}
	// Registered first, but a class match: tried after ID matches.
	must(t, r.Register(pci.Driver{Name: "ethernet", Classes: []pci.Class{{Base: 0x02, Sub: 0x00}},
		Probe: record("ethernet", nil)}))
	// Matches by ID and fails: the next candidate gets the device.
	must(t, r.Register(pci.Driver{Name: "broken", IDs: []pci.ID{e1000ID}, Probe: record("broken", errors.New("no EEPROM"))}))
	must(t, r.Register(pci.Driver{Name: "panics", IDs: []pci.ID{e1000ID}, Probe: func(d *pci.Device) error {
		log = append(log, "panics "+d.Addr.String())
		var m map[int]int
		m[0] = 1
		return nil
	}}))
	must(t, r.Register(pci.Driver{Name: "e1000", IDs: []pci.ID{e1000ID}, Classes: []pci.Class{{Base: 0x02}},
		Probe: func(d *pci.Device) error {
			log = append(log, "e1000 "+d.Addr.String())
			d.EnableMemory()
			d.EnableBusMaster()
			return nil
		}}))
	must(t, r.Register(pci.Driver{Name: "rng", IDs: []pci.ID{{Vendor: 0x1af4, Device: 0x1005}},
		Probe: record("rng", errors.New("not today"))}))

	s := pcitest.QEMUPC()
	b, err := pci.Enumerate(s, &r)
	must(t, err)
	err = b.Probe()

	wantLog := []string{"broken 00:03.0", "panics 00:03.0", "e1000 00:03.0", "ethernet 00:04.0", "rng 01:00.0"}
	if strings.Join(log, ", ") != strings.Join(wantLog, ", ") {
		t.Errorf("probe order %q, want %q", log, wantLog)
	}
	if !errors.Is(err, pci.ErrProbePanic) || !strings.Contains(err.Error(), "no EEPROM") ||
		!strings.Contains(err.Error(), "not today") {
		t.Errorf("Probe err %v", err)
	}
	bound := map[pci.Address]string{}
	for _, d := range b.Devices {
		if d.Driver != "" {
			bound[d.Addr] = d.Driver
		}
	}
	if len(bound) != 2 || bound[pci.Address{Device: 3}] != "e1000" || bound[pci.Address{Device: 4}] != "ethernet" {
		t.Errorf("bound %v", bound)
	}
	e1000 := b.Devices[5]
	if !errors.Is(e1000.ProbeErr, pci.ErrProbePanic) || !strings.Contains(e1000.ProbeErr.Error(), "driver broken") {
		t.Errorf("e1000 ProbeErr %v", e1000.ProbeErr)
	}
	if cmd := s.Function(e1000.Addr).Peek32(pci.COMMAND); cmd&pci.COMMAND_BUS_MASTER == 0 {
		t.Errorf("probe's EnableBusMaster did not reach the device: Command %#x", cmd)
	}
	if b.Stats.Bound != 2 || b.Stats.ProbeErrors != 3 {
		t.Errorf("stats %+v, want 2 bound, 3 probe errors", b.Stats)
	}
	if !strings.Contains(b.String(), "BAR1 io 0xd000 [size 0x40]  driver e1000\n") {
		t.Errorf("table does not show the binding:\n%s", b)
	}

	// A second pass offers only the unbound functions, to the drivers
	// registered since as well.
	log = nil
	must(t, r.Register(pci.Driver{Name: "rng2", IDs: []pci.ID{{Vendor: 0x1af4, Device: 0x1005}}, Probe: record("rng2", nil)}))
	if err := b.Probe(); err == nil || !strings.Contains(err.Error(), "not today") {
		t.Errorf("second Probe err %v", err)
	}
	if strings.Join(log, ", ") != "rng 01:00.0, rng2 01:00.0" {
		t.Errorf("second pass probed %q", log)
	}
	if rng := b.Devices[8]; rng.Driver != "rng2" || rng.ProbeErr == nil {
		t.Errorf("01:00.0 driver %q err %v", rng.Driver, rng.ProbeErr)
	}
}

func TestDefaultRegistry(t *testing.T) {
	probed := 0
	must(t, pci.Register(pci.Driver{Name: "test-default-registry", IDs: []pci.ID{{Vendor: 0x1b36, Device: 0x0001}},
		Probe: func(*pci.Device) error { probed++; return nil }}))
	if err := pci.Register(pci.Driver{Name: "test-default-registry", IDs: []pci.ID{e1000ID},
		Probe: func(*pci.Device) error { return nil }}); !errors.Is(err, pci.ErrDriver) {
		t.Errorf("duplicate in Default: %v", err)
	}
	b, err := pci.Enumerate(pcitest.QEMUPC(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Probe(); err != nil || probed != 1 || b.Devices[7].Driver != "test-default-registry" {
		t.Errorf("err %v, probed %d, bridge driver %q", err, probed, b.Devices[7].Driver)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
