package txframe

// Walker cuts a frame's parts into the buffers a driver gives its device:
// runs of bytes it copies (into memory of its own, at most CopyMax bytes
// each) and, where the frame is held (Frame.Hold), slices of one part the
// device reads in place (at most RefMax bytes each). A part goes in place
// when at least RefMin of its bytes remain; the first Copy bytes of the
// frame (headers the driver rewrites) are always copied. RefMin 0 copies
// everything.
type Walker struct {
	Parts           [][]byte
	Copy            int
	RefMin          int
	CopyMax, RefMax int

	part, off int // the next byte: part and offset in it
	pos       int // and its offset in the frame
}

// inPlace reports whether the bytes at the walk's position go in place.
func (w *Walker) inPlace() bool {
	return w.RefMin > 0 && w.pos >= w.Copy && len(w.Parts[w.part])-w.off >= w.RefMin
}

// Done reports whether the walk has passed the frame's last byte.
func (w *Walker) Done() bool {
	for w.part < len(w.Parts) && w.off == len(w.Parts[w.part]) {
		w.part, w.off = w.part+1, 0
	}
	return w.part == len(w.Parts)
}

// Next returns the next buffer: in place (ref, a slice of one part, n its
// length), or n bytes to copy, which are copied into dst unless dst is nil
// (ref nil; dst must have room for them: CopyMax bytes, or what Count
// says the walk copies in all). n is 0 at the end.
func (w *Walker) Next(dst []byte) (ref []byte, n int) {
	if w.Done() {
		return nil, 0
	}
	if w.inPlace() {
		p := w.Parts[w.part]
		ref = p[w.off:min(len(p), w.off+w.RefMax)]
		w.off += len(ref)
		w.pos += len(ref)
		return ref, len(ref)
	}
	for n < w.CopyMax && !w.Done() && (n == 0 || !w.inPlace()) {
		p := w.Parts[w.part][w.off:]
		k := min(w.CopyMax-n, len(p))
		if w.RefMin > 0 && w.pos < w.Copy {
			k = min(k, w.Copy-w.pos) // stop at the headers' end: what follows may go in place
		}
		if dst != nil {
			copy(dst[n:], p[:k])
		}
		n += k
		w.off += k
		w.pos += k
	}
	return nil, n
}

// Count walks the frame from its start without copying: how many buffers
// it takes, how many go in place, and how many bytes are copied.
func (w Walker) Count() (bufs, refs, copied int) {
	w.part, w.off, w.pos = 0, 0, 0
	for {
		ref, n := w.Next(nil)
		switch {
		case n == 0:
			return bufs, refs, copied
		case ref != nil:
			refs++
		default:
			copied += n
		}
		bufs++
	}
}
