package model

import "time"

// setCause latches interrupt causes into ICR (13.4.17) and re-evaluates the
// INTx line.
func (m *Model) setCause(bits uint32) {
	m.icr |= bits
	m.updateIRQ()
}

// updateIRQ recomputes the INTx line from ICR and IMS. The line falls as
// soon as no unmasked cause is pending. It rises when one is, unless ITR
// throttling holds it off: the manual guarantees ITR×256 ns between
// interrupts "from the last interrupt" (13.4.18), so an assertion due
// earlier is postponed to that time while the causes stay visible in ICR.
// Every rising edge is queued for the IRQ handler.
func (m *Model) updateIRQ() {
	if m.icr&m.ims == 0 {
		m.line = false
		m.disarm(&m.itrT)
		return
	}
	if m.line {
		return
	}
	now := m.now()
	if m.itr != 0 && m.everAsserted {
		next := m.lastAssert + time.Duration(m.itr)*itrUnitNs*time.Nanosecond
		if now < next {
			if !m.itrT.armed || m.itrT.at != next {
				m.armAt(&m.itrT, next)
			}
			return
		}
	}
	m.disarm(&m.itrT)
	m.line = true
	m.lastAssert, m.everAsserted = now, true
	m.pendingEdges++
	m.st.Interrupts++
}
