package model

import (
	"time"
)

// clock is the model's time base: a counter moved by Advance under
// ManualClock, else the real clock with one time.Timer armed for the
// earliest pending deadline.
type clock struct {
	manual  bool
	now     time.Duration // ManualClock time since New
	epoch   time.Time     // real clock origin
	timer   *time.Timer   // real clock only
	dirty   bool          // a deadline changed since the timer was armed
	stopped bool
}

func (c *clock) init(manual bool, fire func()) {
	c.manual = manual
	if !manual {
		c.epoch = time.Now()
		c.timer = time.AfterFunc(time.Hour, fire)
		c.timer.Stop()
	}
}

func (c *clock) stop() {
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
}

// deadline is one of the device's countdown timers (RDTR, RADV, TIDV, TADV,
// and the ITR hold-off), as the absolute model time it expires.
type deadline struct {
	at    time.Duration
	armed bool
}

func (m *Model) now() time.Duration {
	if m.clk.manual {
		return m.clk.now
	}
	return time.Since(m.clk.epoch)
}

func (m *Model) armAt(d *deadline, at time.Duration) {
	d.at, d.armed = at, true
	m.clk.dirty = true
}

func (m *Model) disarm(d *deadline) {
	if d.armed {
		d.armed = false
		m.clk.dirty = true
	}
}

// delayUnits converts a 16-bit RDTR/RADV/TIDV/TADV value to a duration.
func delayUnits(v uint32) time.Duration {
	return time.Duration(v&0xFFFF) * delayUnitNs * time.Nanosecond
}

func (m *Model) deadlines() [5]*deadline {
	return [5]*deadline{&m.rdtrT, &m.radvT, &m.tidvT, &m.tadvT, &m.itrT}
}

func (m *Model) earliest() (time.Duration, bool) {
	var at time.Duration
	found := false
	for _, d := range m.deadlines() {
		if d.armed && (!found || d.at < at) {
			at, found = d.at, true
		}
	}
	return at, found
}

// rearm points the real-clock timer at the earliest deadline. Called with
// m.mu held, before it is released.
func (m *Model) rearm() {
	if m.clk.manual || !m.clk.dirty || m.clk.stopped {
		return
	}
	m.clk.dirty = false
	at, ok := m.earliest()
	if !ok {
		m.clk.timer.Stop()
		return
	}
	m.clk.timer.Reset(max(at-m.now(), 0))
}

// fireDue expires every deadline at or before now.
func (m *Model) fireDue() {
	now := m.now()
	due := func(d *deadline) bool { return d.armed && d.at <= now }
	if due(&m.rdtrT) || due(&m.radvT) {
		m.rxTimerExpired()
	}
	if due(&m.tidvT) || due(&m.tadvT) {
		m.txTimerExpired()
	}
	if due(&m.itrT) {
		m.disarm(&m.itrT)
		m.updateIRQ()
	}
}

// onTimer runs on the real-clock timer's goroutine.
func (m *Model) onTimer() {
	m.mu.Lock()
	m.clk.dirty = true // the timer is spent; rearm for what is left
	m.fireDue()
	m.unlockNotify()
}

// Advance moves ManualClock time forward by d, expiring the mitigation and
// throttling timers in deadline order. The IRQ handler runs for each edge
// at the model time it happens, so a handler that reads ICR lets a later
// timer in the same Advance raise a new edge. Without ManualClock, Advance
// does nothing.
func (m *Model) Advance(d time.Duration) {
	if d < 0 || !m.cfg.ManualClock {
		return
	}
	m.mu.Lock()
	target := m.clk.now + d
	for {
		at, ok := m.earliest()
		if !ok || at > target {
			m.clk.now = max(m.clk.now, target)
			m.unlockNotify()
			return
		}
		m.clk.now = max(m.clk.now, at)
		m.fireDue()
		m.unlockNotify()
		m.mu.Lock()
	}
}

// rxPacketDone runs the receive delay timers after a packet's last byte is
// in host memory (3.2.7.1). RDTR is a packet timer, restarted by every
// packet; RADV is an absolute timer, started by the first packet after it
// last expired and not restarted. RDTR = 0 means an immediate RXT0 per
// packet and disables RADV (3.2.7.1.2); RADV = 0 disables RADV alone.
func (m *Model) rxPacketDone() {
	if m.rdtr == 0 {
		m.rxTimerExpired()
		return
	}
	m.armDelays(&m.rdtrT, m.rdtr, &m.radvT, m.radv)
}

// rxTimerExpired raises RXT0. Either timer's expiry halts the other, so one
// burst yields one interrupt (13.4.30, 3.2.7.1.2).
func (m *Model) rxTimerExpired() {
	m.expireDelays(&m.rdtrT, &m.radvT, ICR_RXT0)
}

// txDescDone runs the transmit delay timers after a descriptor with RS set
// is written back (13.4.41, 13.4.44). Without IDE, TXDW is immediate and
// halts both timers. With IDE, TIDV restarts per descriptor and TADV runs
// from the first one; TIDV = 0 is "not allowed" by the manual, and the
// model treats it as no delay.
func (m *Model) txDescDone(ide bool) {
	if !ide || m.tidv == 0 {
		m.txTimerExpired()
		return
	}
	m.armDelays(&m.tidvT, m.tidv, &m.tadvT, m.tadv)
}

func (m *Model) txTimerExpired() {
	m.expireDelays(&m.tidvT, &m.tadvT, ICR_TXDW)
}

// armDelays restarts a direction's per-packet delay timer and starts its
// absolute timer unless that already runs (0 disables it): the absolute
// timer bounds how long a steady stream can keep pushing the other back.
func (m *Model) armDelays(pkt *deadline, pktDelay uint32, abs *deadline, absDelay uint32) {
	now := m.now()
	m.armAt(pkt, now+delayUnits(pktDelay))
	if absDelay != 0 && !abs.armed {
		m.armAt(abs, now+delayUnits(absDelay))
	}
}

// expireDelays halts both of a direction's timers and raises its cause.
func (m *Model) expireDelays(pkt, abs *deadline, cause uint32) {
	m.disarm(pkt)
	m.disarm(abs)
	m.setCause(cause)
}
