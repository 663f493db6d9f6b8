package model

// decoder is one register layer's decoding of an access of width bytes at
// off, called with the device's lock held; a write that is a queue
// notification returns the queue instead of passing it on.
type decoder interface {
	read(off uint32, width int) uint32
	write(off uint32, width int, v uint32) (notify bool, q uint16)
}

// regs gives a layer its accessors (virtio.Window): each access decoded
// under the device's lock, a notification passed to the backend after it.
type regs struct {
	d   *Device
	dec decoder
}

func (r regs) load(off uint32, width int) uint32 {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	return r.dec.read(off, width)
}

func (r regs) store(off uint32, width int, v uint32) {
	r.d.mu.Lock()
	if notify, q := r.dec.write(off, width, v); notify {
		r.d.notifyUnlock(q)
		return
	}
	r.d.mu.Unlock()
}

func (r regs) Read8(off uint32) uint8       { return uint8(r.load(off, 1)) }
func (r regs) Read16(off uint32) uint16     { return uint16(r.load(off, 2)) }
func (r regs) Read32(off uint32) uint32     { return r.load(off, 4) }
func (r regs) Write8(off uint32, v uint8)   { r.store(off, 1, uint32(v)) }
func (r regs) Write16(off uint32, v uint16) { r.store(off, 2, uint32(v)) }
func (r regs) Write32(off uint32, v uint32) { r.store(off, 4, v) }
