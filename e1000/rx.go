package e1000

import "tamanet/lattrace"

// RxStats counts the receive path. Every descriptor the driver harvests ends
// up in exactly one of Packets or a Drop counter, so
// Descriptors == Packets + DropNoEOP + DropFrameError + DropZeroLength +
// DropRunt + DropOversize + DropNoHandler + DropReset.
type RxStats struct {
	// Descriptors counts descriptors harvested (DD set).
	Descriptors uint64
	// Packets and Bytes count frames handed to the stack.
	Packets, Bytes uint64
	// ChecksumOffloaded counts frames whose IP and TCP/UDP checksums the
	// device verified (csumOK true).
	ChecksumOffloaded uint64

	// DropNoEOP counts descriptors of frames that spanned more than one
	// buffer (EOP clear), all of which are dropped.
	DropNoEOP uint64
	// DropFrameError counts descriptors with a frame error bit (see the
	// Err counters) set.
	DropFrameError uint64
	// DropZeroLength counts descriptors reporting no data.
	DropZeroLength uint64
	// DropRunt counts frames shorter than an Ethernet header.
	DropRunt uint64
	// DropOversize counts frames longer than the MTU allows (a VLAN tag
	// included), lengths beyond the buffer among them.
	DropOversize uint64
	// DropNoHandler counts good frames that arrived before Attach.
	DropNoHandler uint64
	// DropReset counts received frames discarded by a watchdog reset.
	DropReset uint64

	// Per error bit of dropped descriptors (a descriptor may set several).
	ErrCRC, ErrSymbol, ErrSequence, ErrCarrierExt, ErrRxData, ErrReserved uint64
	// ChecksumErrIP and ChecksumErrL4 count frames delivered with IPE or
	// TCPE set; the stack verifies those itself.
	ChecksumErrIP, ChecksumErrL4 uint64
}

// rxVerdict is what the receive path does with one descriptor.
type rxVerdict uint8

const (
	rxDeliver rxVerdict = iota
	rxNoEOP
	rxFrameError
	rxZeroLength
	rxRunt
	rxOversize
)

// classify decides a descriptor's fate and tracks frames that span buffers:
// from a descriptor without EOP up to and including the next one with EOP,
// every descriptor is dropped, so a frame's tail is never delivered alone.
// Called with rxMu held.
func (d *Device) classify(status, errs uint8, length int) rxVerdict {
	if d.rxDiscard || status&RXD_STAT_EOP == 0 {
		d.rxDiscard = status&RXD_STAT_EOP == 0
		return rxNoEOP
	}
	switch {
	case errs&rxdErrFrame != 0:
		return rxFrameError
	case length == 0:
		return rxZeroLength
	case length < ethHeaderLen:
		return rxRunt
	case length > d.maxRxFrame:
		return rxOversize
	}
	return rxDeliver
}

// countErrors adds a dropped descriptor's error bits to s.
func (s *RxStats) countErrors(errs uint8) {
	bit := func(mask uint8) uint64 {
		if errs&mask != 0 {
			return 1
		}
		return 0
	}
	s.ErrCRC += bit(RXD_ERR_CE)
	s.ErrSymbol += bit(RXD_ERR_SE)
	s.ErrSequence += bit(RXD_ERR_SEQ)
	s.ErrCarrierExt += bit(RXD_ERR_CXE)
	s.ErrRxData += bit(RXD_ERR_RXE)
	s.ErrReserved += bit(1 << 3)
}

// checksumOK reports whether the device verified both the IPv4 header and the
// TCP/UDP checksum of a frame, counting the failures it reports (3.2.3.1).
func (s *RxStats) checksumOK(status, errs uint8) bool {
	if status&RXD_STAT_IXSM != 0 {
		return false
	}
	if status&RXD_STAT_IPCS != 0 && errs&RXD_ERR_IPE != 0 {
		s.ChecksumErrIP++
	}
	if status&RXD_STAT_TCPCS != 0 && errs&RXD_ERR_TCPE != 0 {
		s.ChecksumErrL4++
	}
	ok := status&(RXD_STAT_IPCS|RXD_STAT_TCPCS) == RXD_STAT_IPCS|RXD_STAT_TCPCS &&
		errs&(RXD_ERR_IPE|RXD_ERR_TCPE) == 0
	if ok {
		s.ChecksumOffloaded++
	}
	return ok
}

// rxClean harvests up to budget descriptors the device has written back
// (DD set in memory; RDH is never read), hands good frames to the stack,
// recycles every buffer in place and returns the descriptors to the device
// with one RDT write. It returns the number of descriptors harvested.
func (d *Device) rxClean(budget int) int {
	d.rxMu.Lock()
	defer d.rxMu.Unlock()

	deliver := d.up.Funcs().RX
	n := d.cfg.RxDescriptors
	i := d.rxNextToClean
	done, delivered := 0, 0
	for done < budget {
		desc := rxDescAt(d.rxRing, i)
		status, errs := desc.writeBack()
		if status&RXD_STAT_DD == 0 {
			break
		}
		length := int(desc.length())
		s := &d.rx
		s.Descriptors++
		switch d.classify(status, errs, length) {
		case rxDeliver:
			if deliver == nil {
				s.DropNoHandler++
				break
			}
			off := i * d.rxBufSize
			// The three-index slice keeps the stack inside this buffer.
			lattrace.Record(lattrace.KindRx, uint32(length))
			deliver(d.rxBufs[off:off+length:off+length], s.checksumOK(status, errs))
			s.Packets++
			s.Bytes += uint64(length)
			delivered++
		case rxNoEOP:
			s.DropNoEOP++
		case rxFrameError:
			s.DropFrameError++
			s.countErrors(errs)
		case rxZeroLength:
			s.DropZeroLength++
		case rxRunt:
			s.DropRunt++
		case rxOversize:
			s.DropOversize++
		}
		desc.post(d.rxBufAddr(i))
		i = next(i, n)
		done++
	}
	if done > 0 {
		if !d.rxFirstSeen && d.rx.Packets > 0 {
			d.rxFirstSeen = true
			d.event(EventFirstFrame)
		}
		d.rxNextToClean = i
		// The descriptor before the next one to examine stays ours, so
		// the device never sees head == tail on a full ring.
		d.regs.Write32(RDT, uint32((i+n-1)%n))
	}
	if f := d.up.BatchEnd(); f != nil && delivered > 0 {
		f()
	}
	return done
}

// rxReady is the number of descriptors, from the next one to clean, that
// the device has written back. Called with rxMu held.
func (d *Device) rxReady() int {
	n := d.cfg.RxDescriptors
	ready := 0
	for i := d.rxNextToClean; ready < n; i = next(i, n) {
		if status, _ := rxDescAt(d.rxRing, i).writeBack(); status&RXD_STAT_DD == 0 {
			break
		}
		ready++
	}
	return ready
}

// rxDropPending counts and recycles every descriptor the device has filled
// but the driver has not harvested. Used by reset, with rxMu held, once
// the device is quiesced and writes no more descriptors.
func (d *Device) rxDropPending() {
	n := d.cfg.RxDescriptors
	for range n {
		i := d.rxNextToClean
		desc := rxDescAt(d.rxRing, i)
		if status, _ := desc.writeBack(); status&RXD_STAT_DD == 0 {
			break
		}
		d.rx.Descriptors++
		d.rx.DropReset++
		desc.post(d.rxBufAddr(i))
		d.rxNextToClean = next(i, n)
	}
	d.rxDiscard = false
}
