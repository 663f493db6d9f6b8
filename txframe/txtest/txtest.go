// Package txtest helps driver tests exercise txframe holds: frames whose
// parts the driver may read in place, and holds that count their releases
// and poison the parts when released, so a device that reads them later
// puts garbage on the wire.
package txtest

import (
	"bytes"
	"testing"

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

// Mapper is a driver's DMA mapper (e1000.DMAMapper, virtio.DMAMapper).
type Mapper interface {
	Map(buf []byte) (busAddr uint64, ok bool)
	Unmap(busAddr uint64, n int)
}

// RefusingMapper passes its first OK mappings to Mapper and refuses the
// rest, as a mapper does memory its device cannot reach.
type RefusingMapper struct {
	Mapper
	OK int
}

// Map implements Mapper.
func (m *RefusingMapper) Map(b []byte) (uint64, bool) {
	if m.OK == 0 {
		return 0, false
	}
	m.OK--
	return m.Mapper.Map(b)
}

// Arena is the device model's memory: the mappings it made and ended, and
// the Unmap calls that named none (arena.Arena.Maps).
type Arena interface {
	Maps() (maps, unmaps, bad uint64)
}

// CheckLoans fails t unless every mapping mem made was ended exactly once
// and the driver released as many holds as it took.
func CheckLoans(t testing.TB, mem Arena, holds, releases uint64) {
	t.Helper()
	maps, unmaps, bad := mem.Maps()
	if maps != unmaps || bad != 0 || holds != releases {
		t.Errorf("loans not settled: %d mappings made, %d ended, %d bad Unmap calls; %d holds, %d released",
			maps, unmaps, bad, holds, releases)
	}
}
