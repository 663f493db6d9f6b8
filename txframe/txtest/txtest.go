// Package txtest helps driver tests exercise txframe holds: frames whose
// parts the driver may read in place, and holds that count their releases
// and poison the parts when released, so a device that reads them later
// puts garbage on the wire.
package txtest

import (
	"bytes"

	"tamanet/txframe"
)

// Holder is a test frame's hold.
type Holder struct {
	// Parts are the frame's parts, poisoned (0xEE) by Release.
	Parts [][]byte
	// Releases counts Release calls.
	Releases int
	// Seen, if set, is called by the first Release; its result is kept
	// in SeenAtRelease (say, how many frames the device had sent).
	Seen          func() int
	SeenAtRelease int
}

// Release implements txframe.Releaser.
func (h *Holder) Release() {
	h.Releases++
	if h.Releases == 1 && h.Seen != nil {
		h.SeenAtRelease = h.Seen()
	}
	for _, p := range h.Parts {
		for i := range p {
			p[i] = 0xEE
		}
	}
}

// Held returns a held frame of f's bytes cut after each of sizes (each part
// a separate allocation, as gVisor's views are), with offload o.
func Held(f []byte, o txframe.Offload, seen func() int, sizes ...int) (txframe.Frame, *Holder) {
	var parts [][]byte
	for _, n := range sizes {
		parts, f = append(parts, bytes.Clone(f[:n])), f[n:]
	}
	parts = append(parts, bytes.Clone(f))
	h := &Holder{Parts: parts, Seen: seen}
	return txframe.Frame{Parts: parts, Offload: o, Hold: h}, h
}
