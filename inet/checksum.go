package inet

import "encoding/binary"

// Sum adds b, as big-endian 16-bit words (an odd last byte padded with
// zero), to the one's complement accumulator s (RFC 1071). Carries stay in
// the upper half until Fold; a uint32 holds those of 64 KiB of data and
// more.
func Sum(s uint32, b []byte) uint32 {
	for ; len(b) >= 2; b = b[2:] {
		s += uint32(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// Fold reduces a one's complement accumulator to its 16-bit sum. A
// checksum field holds its complement; data with a correct checksum in it
// folds to 0xFFFF.
func Fold(s uint32) uint16 {
	for s > 0xFFFF {
		s = s>>16 + s&0xFFFF
	}
	return uint16(s)
}
