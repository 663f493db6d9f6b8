package entropy

import (
	"crypto/aes"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
)

// keySize is the generator's key, and the bytes read from the source for
// a seed or a reseed.
const keySize = 32

// GeneratorStats counts a Generator's work.
type GeneratorStats struct {
	// SourceBytes counts bytes read from the source by NewGenerator and
	// Reseed; Reseeds and ReseedErrors count Reseed calls.
	SourceBytes  uint64 `json:"source_bytes"`
	Reseeds      uint64 `json:"reseeds"`
	ReseedErrors uint64 `json:"reseed_errors"`
	// GeneratedBytes counts random bytes handed out by Fill.
	GeneratedBytes uint64 `json:"generated_bytes"`
}

// Generator is a fast-key-erasure AES-256-CTR generator keyed from an
// entropy source: every Fill replaces the key with the first two blocks of
// its keystream, so a key read later reveals nothing about what was handed
// out before. A Generator is safe for concurrent use.
type Generator struct {
	mu   sync.Mutex
	name string
	src  io.Reader
	key  [keySize]byte
	st   GeneratorStats
}

// NewGenerator returns a generator keyed with bytes read from src now;
// name says what src is, in errors and Name.
func NewGenerator(name string, src io.Reader) (*Generator, error) {
	g := &Generator{name: name, src: src}
	if _, err := io.ReadFull(src, g.key[:]); err != nil {
		return nil, fmt.Errorf("entropy: seeding the random generator from %s: %w", name, err)
	}
	g.st.SourceBytes = keySize
	return g, nil
}

// Name is the source's name given to NewGenerator.
func (g *Generator) Name() string { return g.name }

// Reseed folds fresh bytes from the source into the key: the new key is
// SHA-256 of the old one and the fresh bytes.
func (g *Generator) Reseed() error {
	var fresh [keySize]byte
	_, err := io.ReadFull(g.src, fresh[:])
	g.mu.Lock()
	defer g.mu.Unlock()
	g.st.Reseeds++
	if err != nil {
		g.st.ReseedErrors++
		return fmt.Errorf("entropy: reseeding from %s: %w", g.name, err)
	}
	g.st.SourceBytes += keySize
	h := sha256.New()
	h.Write(g.key[:])
	h.Write(fresh[:])
	h.Sum(g.key[:0])
	return nil
}

// Fill fills b from the keystream of AES-256-CTR under the current key,
// counter from zero; the first two blocks become the next key.
func (g *Generator) Fill(b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, err := aes.NewCipher(g.key[:])
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
	g.st.GeneratedBytes += uint64(len(b))
	for len(b) > 0 {
		next(b)
		b = b[min(len(b), aes.BlockSize):]
	}
	g.key = key
	clear(block[:])
}

// Stats returns the generator's counters.
func (g *Generator) Stats() GeneratorStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st
}
