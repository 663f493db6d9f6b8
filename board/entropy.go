//go:build tamago

package board

import (
	"crypto/aes"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
	_ "unsafe" // for go:linkname
)

// Random numbers after boot. The runtime and crypto/rand draw from
// runtime/goos.GetRandomData, which the tamago module routes to its
// internal rng.GetRandomDataFn: RDRAND, or on a CPU without RDRAND the
// board's emulation of it (rdrand.go), which is no cryptographic source.
// UseEntropySource points it at a generator keyed from a real device.
//
//go:linkname getRandomDataFn github.com/usbarmory/tamago/internal/rng.GetRandomDataFn
var getRandomDataFn func([]byte)

// Entropy sources as EntropyStats names them.
const (
	SourceRDRAND         = "rdrand"
	SourceRDRANDEmulated = "rdrand-emulated" // not cryptographic
)

// EntropyStats says where random numbers come from.
type EntropyStats struct {
	// Source is SourceRDRAND, SourceRDRANDEmulated, or the name given to
	// UseEntropySource.
	Source string `json:"source" metric:"info=source"`
	// SourceBytes counts bytes read from that source by UseEntropySource
	// and Reseed; Reseeds and ReseedErrors count Reseed calls.
	SourceBytes  uint64 `json:"source_bytes"`
	Reseeds      uint64 `json:"reseeds"`
	ReseedErrors uint64 `json:"reseed_errors"`
	// GeneratedBytes counts random bytes handed out by the generator.
	GeneratedBytes uint64 `json:"generated_bytes"`
}

// entropy is the generator's state: the source and the current AES-256 key,
// which every request replaces (fast key erasure), so a key read later
// reveals nothing about what was handed out before.
var entropy struct {
	mu   sync.Mutex
	name string
	src  io.Reader
	key  [32]byte
	st   EntropyStats
}

// keySize is the generator's key, and the bytes read from the source for
// a seed or a reseed.
const keySize = 32

// UseEntropySource keys a fast-key-erasure AES-256-CTR generator with
// bytes read from src now and makes it the source of every random number
// from then on (crypto/rand; the runtime drew its own seeds at boot). name
// is what Entropy reports. Call it before anything that needs
// unpredictable numbers, such as a network stack's sequence numbers.
func UseEntropySource(name string, src io.Reader) error {
	var seed [keySize]byte
	if _, err := io.ReadFull(src, seed[:]); err != nil {
		return fmt.Errorf("board: seeding the random generator from %s: %w", name, err)
	}
	entropy.mu.Lock()
	defer entropy.mu.Unlock()
	entropy.name, entropy.src, entropy.key = name, src, seed
	entropy.st.SourceBytes += keySize
	getRandomDataFn = generate
	return nil
}

// Reseed folds fresh bytes from the source into the generator's key. It
// does nothing before UseEntropySource.
func Reseed() error {
	entropy.mu.Lock()
	src, name := entropy.src, entropy.name
	entropy.mu.Unlock()
	if src == nil {
		return nil
	}
	var fresh [keySize]byte
	_, err := io.ReadFull(src, fresh[:])
	entropy.mu.Lock()
	defer entropy.mu.Unlock()
	entropy.st.Reseeds++
	if err != nil {
		entropy.st.ReseedErrors++
		return fmt.Errorf("board: reseeding from %s: %w", name, err)
	}
	entropy.st.SourceBytes += keySize
	h := sha256.New()
	h.Write(entropy.key[:])
	h.Write(fresh[:])
	h.Sum(entropy.key[:0])
	return nil
}

// generate fills b from the keystream of AES-256-CTR under the current
// key; the first two blocks become the next key.
func generate(b []byte) {
	entropy.mu.Lock()
	defer entropy.mu.Unlock()
	c, err := aes.NewCipher(entropy.key[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	var ctr, block [aes.BlockSize]byte
	next := func(dst []byte) {
		c.Encrypt(block[:], ctr[:])
		for i := range ctr { // big-endian increment
			if ctr[len(ctr)-1-i]++; ctr[len(ctr)-1-i] != 0 {
				break
			}
		}
		copy(dst, block[:])
	}
	var key [keySize]byte
	next(key[:aes.BlockSize])
	next(key[aes.BlockSize:])
	entropy.st.GeneratedBytes += uint64(len(b))
	for len(b) > 0 {
		next(b)
		b = b[min(len(b), aes.BlockSize):]
	}
	entropy.key = key
	clear(block[:])
}

// Entropy reports the random source and the generator's counters.
func Entropy() EntropyStats {
	entropy.mu.Lock()
	defer entropy.mu.Unlock()
	s := entropy.st
	switch {
	case entropy.name != "":
		s.Source = entropy.name
	case rdrandEmulated:
		s.Source = SourceRDRANDEmulated
	default:
		s.Source = SourceRDRAND
	}
	return s
}
