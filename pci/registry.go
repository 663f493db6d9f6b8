package pci

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// ID matches a function by vendor and device ID.
type ID struct {
	Vendor, Device uint16
}

// Class matches a function by base class and sub-class.
type Class struct {
	Base, Sub uint8
}

// Driver is what a driver registers: a name, what it matches, and the probe
// that takes a matching function over.
type Driver struct {
	// Name identifies the driver in Device.Driver and the table.
	Name string
	// IDs and Classes list what the driver matches; at least one of them
	// must be non-empty.
	IDs     []ID
	Classes []Class
	// Probe initialises the function and returns nil if the driver now
	// owns it, or an error saying why not.
	Probe func(*Device) error
}

// matchesID reports whether d's vendor and device IDs are in drv.IDs.
func (drv *Driver) matchesID(d *Device) bool {
	for _, id := range drv.IDs {
		if id.Vendor == d.VendorID && id.Device == d.DeviceID {
			return true
		}
	}
	return false
}

// matchesClass reports whether d's class is in drv.Classes.
func (drv *Driver) matchesClass(d *Device) bool {
	for _, c := range drv.Classes {
		if c.Base == d.BaseClass && c.Sub == d.SubClass {
			return true
		}
	}
	return false
}

// Errors from Register and Probe.
var (
	// ErrDriver is a Driver that cannot be registered: no name or one with
	// white space, no probe, nothing to match, or a name already taken.
	ErrDriver = errors.New("pci: invalid driver")
	// ErrProbePanic is a driver probe that panicked; the panic value
	// follows in the message.
	ErrProbePanic = errors.New("pci: driver probe panicked")
)

// Registry holds drivers in registration order. The zero value is empty and
// ready to use; it is safe for concurrent registration.
type Registry struct {
	mu      sync.Mutex
	drivers []Driver
}

// Default is the registry drivers add themselves to from their init
// functions, and the one Enumerate uses when given nil.
var Default Registry

// Register adds drv to the Default registry.
func Register(drv Driver) error { return Default.Register(drv) }

// Register adds drv to r. It returns an error wrapping ErrDriver, and adds
// nothing, if drv has no name or one with white space, no Probe, nothing
// to match, or a name already registered.
func (r *Registry) Register(drv Driver) error {
	switch {
	case drv.Name == "":
		return fmt.Errorf("driver without a name: %w", ErrDriver)
	case strings.ContainsFunc(drv.Name, unicode.IsSpace):
		// The name is one field of a table line.
		return fmt.Errorf("driver name %q has white space: %w", drv.Name, ErrDriver)
	case drv.Probe == nil:
		return fmt.Errorf("driver %s has no Probe: %w", drv.Name, ErrDriver)
	case len(drv.IDs) == 0 && len(drv.Classes) == 0:
		return fmt.Errorf("driver %s matches nothing: %w", drv.Name, ErrDriver)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.drivers {
		if have.Name == drv.Name {
			return fmt.Errorf("driver %s already registered: %w", drv.Name, ErrDriver)
		}
	}
	r.drivers = append(r.drivers, drv)
	return nil
}

// snapshot returns the drivers registered so far.
func (r *Registry) snapshot() []Driver {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Driver(nil), r.drivers...)
}

// Probe offers every function that has no driver yet to the drivers that
// match it: first those listing its vendor:device ID, then those listing
// its class, each group in registration order. The first probe that
// returns nil binds the function (Device.Driver); the errors of those that
// failed, and panics turned into errors wrapping ErrProbePanic, are kept
// in Device.ProbeErr and counted in Stats.ProbeErrors. Probe returns all
// probe errors joined, nil if there were none. Calling it again offers the
// still unbound functions to the drivers registered since. Probe must not
// run concurrently with itself.
func (b *Bus) Probe() error {
	drivers := b.drivers.snapshot()
	var errs []error
	for _, d := range b.Devices {
		if d.Driver != "" {
			continue
		}
		d.ProbeErr = nil
		var derrs []error
		for _, drv := range candidates(drivers, d) {
			if err := probe(drv, d); err != nil {
				b.Stats.ProbeErrors++
				derrs = append(derrs, fmt.Errorf("%s: driver %s: %w", d.Addr, drv.Name, err))
				continue
			}
			d.Driver = drv.Name
			b.Stats.Bound++
			break
		}
		d.ProbeErr = errors.Join(derrs...)
		errs = append(errs, derrs...)
	}
	return errors.Join(errs...)
}

// candidates returns the drivers matching d in the order Probe tries them:
// by vendor:device ID first, then by class, each driver once.
func candidates(drivers []Driver, d *Device) []*Driver {
	var c []*Driver
	for i := range drivers {
		if drivers[i].matchesID(d) {
			c = append(c, &drivers[i])
		}
	}
	for i := range drivers {
		if !drivers[i].matchesID(d) && drivers[i].matchesClass(d) {
			c = append(c, &drivers[i])
		}
	}
	return c
}

// probe calls drv.Probe, turning a panic into an error so that one broken
// driver does not stop the others from binding.
func probe(drv *Driver, d *Device) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", ErrProbePanic, v)
		}
	}()
	return drv.Probe(d)
}
