package e1000

import (
	"fmt"
	"time"
	"unsafe"

	"tamanet/napi"
)

// Interrupt causes the driver enables (13.4.20). intrPoll are those the
// interrupt handler masks while a poll is owed; LSC stays enabled throughout.
const (
	intrPoll    = ICR_RXT0 | ICR_RXO | ICR_RXDMT0 | ICR_TXDW
	intrEnabled = intrPoll | ICR_LSC
)

// interruptCauses are the causes the current mode uses: link changes
// always, receive and transmit work unless the poll loop owns the rings
// for good (busy polling), which must not be interrupted for them.
func (d *Device) interruptCauses() uint32 {
	if d.cfg.NAPI.Mode == napi.ModeBusyPoll {
		return ICR_LSC
	}
	return intrEnabled
}

// Transmit settings for full duplex copper (13.4.33, 13.4.34).
const (
	tctlCT    = 0x0F // collision threshold (ignored in full duplex)
	tctlCOLD  = 0x40 // collision distance, 64-byte times, full duplex
	tipgIPGT  = 10   // 82540EM copper values from the TIPG table
	tipgIPGR1 = 8
	tipgIPGR2 = 6
)

// Reset timing. The 8254x has no status bit for DMA still in flight once
// RCTL.EN and TCTL.EN are clear, so the driver waits as Linux and FreeBSD
// do; the manual asks for about 1 µs after setting CTRL.RST before any
// other register access. The timeouts bound waits that complete in
// microseconds on a working device (and at once under QEMU).
const (
	dmaDrainWait    = 10 * time.Millisecond
	resetSettle     = time.Microsecond
	resetTimeout    = 10 * time.Millisecond
	autoReadTimeout = 20 * time.Millisecond
	resetPollPeriod = 100 * time.Microsecond
)

// descAlign is the alignment the manual requires of descriptor rings (16
// bytes); buffers use it too.
const descAlign = 16

// New resets the device, reads its address from the EEPROM, allocates and
// programs the rings, and enables receive, transmit and interrupts. The
// owner then hooks HandleInterrupt to the device's interrupt line and runs
// NAPI(). The PHY is left alone: restarting auto-negotiation would take the
// link down for a while, and after a reset with CTRL.SLU the link is up.
// Setting SLU latches a link status change, so the interrupt line may be
// asserted when New returns; a level-triggered line delivers it once hooked.
func New(regs Registers, dma DMA, cfg Config) (*Device, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Device{regs: regs, cfg: cfg}
	if err := d.resetHW(); err != nil {
		return nil, err
	}
	if d.mac, err = d.readMAC(); err != nil {
		return nil, err
	}
	d.rxBufSize, d.rxBufRCTL, d.maxRxFrame = rxBuffers(cfg.MTU)
	if err := d.allocRings(dma); err != nil {
		return nil, err
	}
	if cfg.Mitigation.TIDV > 0 {
		d.txCmdIDE = TXD_CMD_IDE
	}
	d.txSlots = make([]txSlot, cfg.TxDescriptors)
	d.txBufMap = make([]txBuf, cfg.TxDescriptors)
	d.mapper, _ = dma.(DMAMapper)
	d.maxFrame = ethHeaderLen + cfg.MTU
	d.txWake = max(1, cfg.TxDescriptors/4)
	d.napi = napi.New(d, cfg.NAPI)
	d.configure()
	d.carrier.Store(d.statusLU()) // no stack to tell yet
	return d, nil
}

// allocRings takes the descriptor rings and every buffer from dma once; the
// driver never allocates DMA memory again, so there is no refill to fail.
func (d *Device) allocRings(dma DMA) error {
	var err error
	alloc := func(what string, size int) ([]byte, uint64) {
		if err != nil {
			return nil, 0
		}
		buf, bus, e := dma.Alloc(size, descAlign)
		switch {
		case e != nil:
		case len(buf) < size:
			e = fmt.Errorf("got %d bytes", len(buf))
		case bus%descAlign != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%descAlign != 0:
			// The manual asks it of rings, and the descriptors' status
			// words are loaded atomically.
			e = fmt.Errorf("%w: bus address %#x, memory %p", ErrMisaligned, bus, unsafe.SliceData(buf))
		}
		if e != nil {
			err = fmt.Errorf("e1000: allocating %s (%d bytes): %w", what, size, e)
		}
		return buf, bus
	}
	nrx, ntx := d.cfg.RxDescriptors, d.cfg.TxDescriptors
	d.rxRing, d.rxRingBus = alloc("receive ring", nrx*RxDescSize)
	d.rxBufs, d.rxBufsBus = alloc("receive buffers", nrx*d.rxBufSize)
	d.txRing, d.txRingBus = alloc("transmit ring", ntx*TxDescSize)
	d.txBufs, d.txBufsBus = alloc("transmit buffers", ntx*txBufferSize)
	return err
}

// resetHW performs a global reset (13.4.1) and leaves the device quiet:
// receive and transmit off, every interrupt masked and no cause pending.
// The order is the manual's: quiesce (stop the device from starting DMA,
// flush the posted register writes with a read, let DMA already under way
// finish), reset, wait for the reset and then for the EEPROM auto-read that follows
// it (13.5.3: it sets RAH0.AV; the driver programs RAL0/RAH0 only after
// that, or the load would overwrite them).
func (d *Device) resetHW() error {
	r := d.regs
	d.quiesce()
	r.Write32(CTRL, r.Read32(CTRL)|CTRL_RST)
	d.cfg.Sleep(resetSettle)
	if !d.waitFor(resetTimeout, func() bool { return r.Read32(CTRL)&CTRL_RST == 0 }) {
		return fmt.Errorf("%w: CTRL.RST still set after %v", ErrResetTimeout, resetTimeout)
	}
	if r.Read32(EECD)&EECD_EE_PRES != 0 &&
		!d.waitFor(autoReadTimeout, func() bool { return r.Read32(RAH0)&RAH_AV != 0 }) {
		return fmt.Errorf("%w: auto-read after reset (RAH0.AV still clear after %v)", ErrEEPROMTimeout, autoReadTimeout)
	}
	// The reset unmasks nothing, but mask again as the manual advises, and
	// drop whatever causes it latched.
	r.Write32(IMC, ^uint32(0))
	r.Read32(ICR)
	r.Write32(CTRL, r.Read32(CTRL)|CTRL_SLU)
	d.event(EventReset)
	return nil
}

// quiesce masks every interrupt, stops the device from starting DMA
// (RCTL.EN and TCTL.EN clear), flushes those posted writes with a read of
// STATUS and, if either engine was running, waits for DMA already under way
// to finish. Afterwards the device writes nothing more to the rings. A
// device fresh from power-on, or one already quiesced, has both clear
// (setRCTL then writes nothing) and no DMA to wait for.
func (d *Device) quiesce() {
	r := d.regs
	r.Write32(IMC, ^uint32(0))
	active := r.Read32(RCTL)&RCTL_EN != 0 || r.Read32(TCTL)&TCTL_EN != 0
	d.setRCTL(0)
	r.Write32(TCTL, 0)
	r.Read32(STATUS)
	if active {
		d.cfg.Sleep(dmaDrainWait)
	}
}

// waitFor polls done, sleeping resetPollPeriod between polls, until it
// reports true or the sleeps add up to timeout. It counts the time it
// asked to sleep rather than reading a clock, so the bound holds whatever
// the clock (tests run the driver on a model's manual clock).
func (d *Device) waitFor(timeout time.Duration, done func() bool) bool {
	for slept := time.Duration(0); ; slept += resetPollPeriod {
		if done() {
			return true
		}
		if slept >= timeout {
			return false
		}
		d.cfg.Sleep(resetPollPeriod)
	}
}

// configure programs a freshly reset device from the driver's state: the
// station address and filters, both rings from empty, the moderation timers,
// and then enables receive, transmit and interrupts (14.4, 14.5). Callers
// hold rxMu, txMu and filterMu, or own the device exclusively (New).
func (d *Device) configure() {
	r := d.regs
	d.writeAddressFilters()

	nrx := d.cfg.RxDescriptors
	for i := range nrx {
		rxDescAt(d.rxRing, i).post(d.rxBufAddr(i))
	}
	d.rxNextToClean, d.rxDiscard = 0, false
	r.Write32(RDBAL, uint32(d.rxRingBus))
	r.Write32(RDBAH, uint32(d.rxRingBus>>32))
	r.Write32(RDLEN, uint32(nrx*RxDescSize))
	r.Write32(RDH, 0)
	// RDT one behind RDH: every descriptor but one belongs to the device
	// (head == tail would mean none).
	r.Write32(RDT, uint32(nrx-1))

	ntx := d.cfg.TxDescriptors
	for i := range ntx {
		txDescAt(d.txRing, i).clear()
	}
	d.txNextToUse, d.txNextToClean, d.txStopped = 0, 0, false
	d.txCtx = txCtxCache{} // the reset emptied the device's context
	d.txWatch = txWatch{}
	r.Write32(TDBAL, uint32(d.txRingBus))
	r.Write32(TDBAH, uint32(d.txRingBus>>32))
	r.Write32(TDLEN, uint32(ntx*TxDescSize))
	r.Write32(TDH, 0)
	r.Write32(TDT, 0)
	r.Write32(TIPG, tipgIPGT<<TIPG_IPGT_SHIFT|tipgIPGR1<<TIPG_IPGR1_SHIFT|tipgIPGR2<<TIPG_IPGR2_SHIFT)

	m := d.cfg.Mitigation
	r.Write32(ITR, regValue(m.ITR, itrUnit))
	r.Write32(RDTR, regValue(m.RDTR, delayUnit))
	r.Write32(RADV, regValue(m.RADV, delayUnit))
	r.Write32(TIDV, regValue(m.TIDV, delayUnit))
	r.Write32(TADV, regValue(m.TADV, delayUnit))

	r.Write32(RXCSUM, RXCSUM_IPOFLD|RXCSUM_TUOFLD)
	r.Write32(TCTL, TCTL_EN|TCTL_PSP|tctlCT<<TCTL_CT_SHIFT|tctlCOLD<<TCTL_COLD_SHIFT)
	d.setRCTL(d.rctl())
	r.Write32(IMS, d.interruptCauses())
}

// setRCTL writes v to RCTL unless the register already holds it. Every
// RCTL write makes QEMU's e1000 refuse to receive for one second (its
// flush_queue_timer; frames queue in the backend meanwhile), so the driver
// writes it once at bring-up and afterwards only when the value changes.
// Writes are counted (DeviceStats.RCTLWrites).
func (d *Device) setRCTL(v uint32) {
	if d.regs.Read32(RCTL) == v {
		return
	}
	d.regs.Write32(RCTL, v)
	d.dev.rctlWrites.Add(1)
	if v&RCTL_EN != 0 {
		d.event(EventRxEnabled)
	}
}

// event reports e to Config.Event, if set.
func (d *Device) event(e Event) {
	if f := d.cfg.Event; f != nil {
		f(e)
	}
}

// rctl is the receive control value for the current filter settings.
func (d *Device) rctl() uint32 {
	v := RCTL_EN | RCTL_BAM | d.rxBufRCTL | RCTL_SECRC | RCTL_RDMTS_HALF | RCTL_MO_0
	if d.promisc {
		v |= RCTL_UPE | RCTL_MPE
	}
	return v
}

// rxBufAddr is the bus address of receive buffer i.
func (d *Device) rxBufAddr(i int) uint64 { return d.rxBufsBus + uint64(i*d.rxBufSize) }

// txBufAddr is the bus address of transmit buffer i.
func (d *Device) txBufAddr(i int) uint64 { return d.txBufsBus + uint64(i*txBufferSize) }
