//go:build tamago

package kernel

import (
	"fmt"
	"sync"
	"sync/atomic"

	"tamanet/lattrace"
)

// Trigger is how an interrupt input signals.
type Trigger uint8

// Trigger modes.
const (
	Edge Trigger = iota
	Level
)

// Polarity is which signal level means asserted.
type Polarity uint8

// Polarities.
const (
	ActiveHigh Polarity = iota
	ActiveLow
)

func (t Trigger) String() string {
	if t == Level {
		return "level"
	}
	return "edge"
}

func (p Polarity) String() string {
	if p == ActiveLow {
		return "low"
	}
	return "high"
}

const (
	firstVector = 0x30 // above the exceptions (0-31) and the remapped PICs
	lastVector  = 0xef // 0xf0-0xff: the board's wake-up and spurious vectors

	// stormLimit consecutive interrupts that no handler claims mask a
	// level-triggered line, which would otherwise fire forever.
	stormLimit = 1000
)

// handler is one driver on an interrupt line.
type handler struct {
	name    string
	fn      func() bool
	claimed atomic.Uint64
}

// line is an interrupt source delivered on a vector: an I/O APIC input,
// or a message-signalled interrupt (msi true, gsi unused).
type line struct {
	gsi      uint32
	msi      bool
	vector   int
	trigger  Trigger
	polarity Polarity
	// handlers is replaced, never modified, so dispatch reads it
	// without a lock.
	handlers atomic.Pointer[[]*handler]

	count     atomic.Uint64 // interrupts delivered
	unhandled atomic.Uint64 // interrupts no handler claimed
	streak    int           // consecutive unhandled (dispatch goroutine only)
	disabled  atomic.Bool   // masked after a storm
}

var (
	linesMu  sync.Mutex
	byGSI    = map[uint32]*line{}
	byVector [256]atomic.Pointer[line]

	spurious atomic.Uint64 // vectors with no line
	// replayed counts level lines found asserted when routed (see
	// RequestIRQ).
	replayed atomic.Uint64
)

// ISARoute returns where ISA or PCI interrupt line irq arrives, following
// the MADT's interrupt source overrides (ISA defaults: same GSI, edge,
// active high).
func ISARoute(irq uint8) (gsi uint32, trig Trigger, pol Polarity) {
	gsi, trig, pol = uint32(irq), Edge, ActiveHigh
	if acpi == nil {
		return
	}
	for _, o := range acpi.Overrides {
		if o.Source != irq {
			continue
		}
		gsi = o.GSI
		// MPS INTI flags: polarity bits 0-1, trigger bits 2-3; 0 means
		// the bus default (ISA: high, edge).
		if o.Flags&3 == 3 {
			pol = ActiveLow
		}
		if o.Flags>>2&3 == 3 {
			trig = Level
		}
	}
	return
}

// RequestIRQ routes gsi to a vector with the given trigger mode and
// polarity and calls fn from the interrupt goroutine for every interrupt on
// it. fn reports whether its device raised the interrupt, which lets
// drivers share a line. Several handlers on one line must agree on trigger
// and polarity.
//
// On a level-triggered line RequestIRQ also calls fn once itself, after the
// route is in place: a device may have asserted the line before (a driver
// brought up first, frames arriving meanwhile), and QEMU's I/O APIC ignores
// a rising edge on a masked or not yet configured input, while a level that
// stays high never rises again, so that interrupt would never come. If fn
// acknowledges its device the line falls and the next cause rises anew. fn
// must therefore tolerate this one call from RequestIRQ's caller.
func RequestIRQ(name string, gsi uint32, trig Trigger, pol Polarity, fn func() bool) error {
	if cpu == nil {
		return fmt.Errorf("kernel: RequestIRQ(%s) before Init", name)
	}
	io := ioapicFor(gsi)
	if io == nil {
		return fmt.Errorf("kernel: no I/O APIC serves GSI %d", gsi)
	}
	linesMu.Lock()
	defer linesMu.Unlock()
	l := byGSI[gsi]
	if l == nil {
		l = &line{gsi: gsi, trigger: trig, polarity: pol}
		if !installLine(l) {
			return fmt.Errorf("kernel: out of vectors for GSI %d", gsi)
		}
		byGSI[gsi] = l
	} else if l.trigger != trig || l.polarity != pol {
		return fmt.Errorf("kernel: GSI %d is %v/%v, %s asks for %v/%v", gsi, l.trigger, l.polarity, name, trig, pol)
	}
	var hs []*handler
	if old := l.handlers.Load(); old != nil {
		hs = append(hs, *old...)
	}
	h := &handler{name: name, fn: fn}
	hs = append(hs, h)
	l.handlers.Store(&hs)
	io.route(gsi, l.vector, trig, pol)
	if trig == Level && fn() {
		h.claimed.Add(1)
		replayed.Add(1)
	}
	return nil
}

// call runs the handler. A panic in a handler (a fault included) is not
// recovered: the device may be left half-serviced and its line asserted, so
// the program ends, and the line printed first names the handler above the
// panic and its stack.
func (h *handler) call(l *line) bool {
	returned := false
	defer func() {
		if !returned && l.msi {
			print("kernel: interrupt handler ", h.name, " (MSI, vector ", l.vector, ") panicked\n")
		} else if !returned {
			print("kernel: interrupt handler ", h.name, " (GSI ", l.gsi, ", vector ", l.vector, ") panicked\n")
		}
	}()
	claimed := h.fn()
	returned = true
	return claimed
}

// dispatch runs on the interrupt goroutine for each interrupt; the CPU's
// end-of-interrupt follows when it returns.
func dispatch(vector int) {
	if vector < 0 || vector >= len(byVector) {
		spurious.Add(1)
		return
	}
	l := byVector[vector].Load()
	if l == nil {
		spurious.Add(1)
		return
	}
	hs := l.handlers.Load()
	if hs == nil {
		// Published but not yet given its handler.
		spurious.Add(1)
		return
	}
	l.count.Add(1)
	lattrace.Record(lattrace.KindIRQ, uint32(vector))
	claimed := false
	for _, h := range *hs {
		if h.call(l) {
			h.claimed.Add(1)
			claimed = true
		}
	}
	if claimed {
		l.streak = 0
		return
	}
	l.unhandled.Add(1)
	l.streak++
	if !l.msi && l.trigger == Level && l.streak >= stormLimit && !l.disabled.Load() {
		// Nobody acknowledges the device: mask the input before the EOI
		// re-delivers it forever.
		l.disabled.Store(true)
		ioapicFor(l.gsi).mask(l.gsi)
		println("kernel: GSI", l.gsi, "masked after", stormLimit, "unclaimed level interrupts")
	}
}

// LineStats counts one interrupt line. Its routing fields label the line's
// metrics and each handler's claims are a metric labelled by handler (see
// tamanet/expose).
type LineStats struct {
	GSI       uint32            `json:"gsi" metric:"label"`
	Vector    int               `json:"vector" metric:"label"`
	Trigger   string            `json:"trigger" metric:"label"`
	Polarity  string            `json:"polarity" metric:"label"`
	Count     uint64            `json:"count"`
	Unhandled uint64            `json:"unhandled"`
	Disabled  bool              `json:"disabled"`
	Handlers  map[string]uint64 `json:"handlers" metric:"label=handler"`
}

// IRQStats is the kernel's interrupt accounting.
type IRQStats struct {
	Lines []LineStats `json:"lines" metric:"label=line"`
	// MSI holds the vectors RequestMSI gave out, in vector order.
	MSI      []MSIStats `json:"msi" metric:"label=msi"`
	Spurious uint64     `json:"spurious"`
	// Total counts every interrupt delivered, on vectors given back
	// included.
	Total uint64 `json:"total"`
	// Replayed counts level-triggered lines that were already asserted
	// when RequestIRQ routed them, and whose handler it called.
	Replayed uint64 `json:"replayed"`
}

// Stats returns a snapshot of the interrupt counters.
func Stats() IRQStats {
	linesMu.Lock()
	defer linesMu.Unlock()
	s := IRQStats{Spurious: spurious.Load(), Replayed: replayed.Load()}
	for v := firstVector; v <= lastVector; v++ {
		l := byVector[v].Load()
		if l == nil {
			continue
		}
		if l.msi {
			m := MSIStats{Name: (*l.handlers.Load())[0].name, Vector: l.vector, Count: l.count.Load()}
			s.MSI = append(s.MSI, m)
			s.Total += m.Count
			continue
		}
		ls := LineStats{
			GSI: l.gsi, Vector: l.vector, Trigger: l.trigger.String(), Polarity: l.polarity.String(),
			Count: l.count.Load(), Unhandled: l.unhandled.Load(), Disabled: l.disabled.Load(),
			Handlers: map[string]uint64{},
		}
		for _, h := range *l.handlers.Load() {
			ls.Handlers[h.name] += h.claimed.Load()
		}
		s.Lines = append(s.Lines, ls)
		s.Total += ls.Count
	}
	s.Total += s.Spurious + releasedMSI.Load()
	return s
}

// installLine gives l the lowest free vector and publishes it there for
// dispatch; false when every vector is taken. linesMu must be held.
func installLine(l *line) bool {
	for v := firstVector; v <= lastVector; v++ {
		if byVector[v].Load() == nil {
			l.vector = v
			byVector[v].Store(l)
			return true
		}
	}
	return false
}
