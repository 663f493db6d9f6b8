package netstack

// kickLinkWatch asks linkWatch to look at the carrier again.
func (st *Stack) kickLinkWatch() {
	select {
	case st.linkEvent <- struct{}{}:
	default:
	}
}

// linkWatch enables the NIC when carrier comes up and disables it when
// carrier goes, like Linux's linkwatch: while disabled, gVisor refuses to
// send (TCP keeps its data and retransmits later), counts received packets
// as DisabledRx, and flushes the neighbour cache so ARP runs again. It runs
// on its own goroutine so the driver's upcall never waits on stack locks.
func (st *Stack) linkWatch() {
	for {
		select {
		case <-st.linkEvent:
			st.applyLink()
		case <-st.done:
			return
		}
	}
}

// applyLink makes the NIC's enabled state follow the carrier and tells
// the OnLinkChange callbacks. Disabling the NIC makes gVisor forget what
// router advertisements taught it (SLAAC addresses, routers, prefixes), so
// enabling it again gives it back the advertisements kept (raCache): the
// addresses come back, through DAD, without waiting for a router to speak.
func (st *Stack) applyLink() {
	st.linkMu.Lock()
	// Losses counted before the carrier is read: a loss and return
	// quicker than this goroutine are still seen as a loss, and one
	// between the two reads as carrier down.
	downs := st.ep.Counters().LinkDown
	lost := downs != st.downsSeen
	st.downsSeen = downs
	subs := st.linkSubs
	st.linkMu.Unlock()
	up := st.ep.LinkUp()
	changed := up != st.s.CheckNIC(NICID)
	// Both fail only for an unknown NIC, that is while the stack closes.
	switch {
	case changed && up:
		if st.s.EnableNIC(NICID) == nil && st.ras != nil {
			st.ndp.c.replays.Add(uint64(st.ras.replay(st.link.Inject)))
		}
	case changed:
		_ = st.s.DisableNIC(NICID)
	}
	for _, f := range subs {
		if lost || changed && !up {
			f(false)
		}
		if up && (lost || changed) {
			f(true)
		}
	}
}

// OnLinkChange registers f, called on the stack's link goroutine for each
// carrier change it applies: false when carrier goes, true when it comes
// back. A loss and return too quick to tell apart are reported as both.
func (st *Stack) OnLinkChange(f func(up bool)) {
	st.linkMu.Lock()
	defer st.linkMu.Unlock()
	st.linkSubs = append(st.linkSubs, f)
}
