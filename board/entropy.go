//go:build tamago

package board

import _ "unsafe" // for go:linkname

// Random numbers after boot. The runtime and crypto/rand draw from
// runtime/goos.GetRandomData, which the tamago module routes to its
// internal rng.GetRandomDataFn: RDRAND, or on a CPU without RDRAND the
// board's emulation of it (rdrand.go), which is no cryptographic source.
// SetRandomData points it at a generator keyed from a real device
// (package unikernel/entropy).
//
//go:linkname getRandomDataFn github.com/usbarmory/tamago/internal/rng.GetRandomDataFn
var getRandomDataFn func([]byte)

// SetRandomData makes fill the source of every random number from then on
// (crypto/rand; the runtime drew its own seeds at boot). fill must be safe
// for concurrent use.
func SetRandomData(fill func([]byte)) { getRandomDataFn = fill }
