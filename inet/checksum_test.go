package inet

import (
	"math/rand/v2"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"
)

// RFC 1071, section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
func TestSumRFC1071Example(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Fold(Sum(0, b)); got != 0xddf2 {
		t.Errorf("Fold(Sum(0, % x)) = %#04x, want 0xddf2", b, got)
	}
	// Summed in two parts split at an even offset: the same.
	if got := Fold(Sum(Sum(0, b[:4]), b[4:])); got != 0xddf2 {
		t.Errorf("sum in two parts = %#04x, want 0xddf2", got)
	}
}

// A header with its checksum filled in folds to 0xFFFF; with the field
// zeroed, the complement of the sum is the checksum (a widely quoted
// worked example: 0xb861).
func TestSumIPv4Header(t *testing.T) {
	h := []byte{
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
		0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	}
	if got := Fold(Sum(0, h)); got != 0xFFFF {
		t.Errorf("header with its checksum folds to %#04x, want 0xffff", got)
	}
	h[10], h[11] = 0, 0
	if got := ^Fold(Sum(0, h)); got != 0xb861 {
		t.Errorf("checksum %#04x, want 0xb861", got)
	}
}

// Sum and Fold agree with gVisor's checksum package, an independent
// implementation, on random data of every length up to 2 KiB (odd ones
// included) and from a random starting sum.
func TestSumMatchesGVisor(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 2048)
	for n := 0; n <= len(buf); n++ {
		b := buf[:n]
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		initial := uint16(r.Uint32())
		if got, want := Fold(Sum(uint32(initial), b)), checksum.Checksum(b, initial); got != want {
			t.Fatalf("%d bytes from %#04x: %#04x, gVisor %#04x", n, initial, got, want)
		}
	}
	// Long runs of 0xFF carry on every word.
	ff := make([]byte, 65535)
	for i := range ff {
		ff[i] = 0xFF
	}
	if got, want := Fold(Sum(0, ff)), checksum.Checksum(ff, 0); got != want {
		t.Errorf("64 KiB of 0xff: %#04x, gVisor %#04x", got, want)
	}
}
