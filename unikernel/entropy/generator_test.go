package entropy

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"testing"
	"testing/iotest"
)

// keystream is AES-256-CTR from a zero counter, from crypto/cipher: the
// reference the generator's own counter mode is checked against.
func keystream(t *testing.T, key []byte, n int) []byte {
	t.Helper()
	c, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, n)
	cipher.NewCTR(c, make([]byte, aes.BlockSize)).XORKeyStream(out, out)
	return out
}

// seq is a source of the bytes from, from+1, ... (mod 256).
type seq struct{ next byte }

func (s *seq) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = s.next
		s.next++
	}
	return len(p), nil
}

// Fill hands out the keystream after its first two blocks, which become
// the next key (fast key erasure); a reseed hashes fresh source bytes into
// the key.
func TestGeneratorKeystream(t *testing.T) {
	g, err := NewGenerator("test", &seq{})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, keySize)
	(&seq{}).Read(key)

	// 37 bytes: two whole blocks and a partial one.
	got := make([]byte, 37)
	g.Fill(got)
	ks := keystream(t, key, 2*aes.BlockSize+len(got))
	if want := ks[2*aes.BlockSize:]; !bytes.Equal(got, want) {
		t.Fatalf("first fill\n got % x\nwant % x", got, want)
	}
	key = ks[:keySize]

	got = make([]byte, 16)
	g.Fill(got)
	ks = keystream(t, key, 2*aes.BlockSize+len(got))
	if want := ks[2*aes.BlockSize:]; !bytes.Equal(got, want) {
		t.Fatalf("second fill (under the erased key)\n got % x\nwant % x", got, want)
	}
	key = ks[:keySize]

	if err := g.Reseed(); err != nil {
		t.Fatal(err)
	}
	fresh := make([]byte, keySize)
	(&seq{next: keySize}).Read(fresh)
	h := sha256.Sum256(append(bytes.Clone(key), fresh...))
	got = make([]byte, 8)
	g.Fill(got)
	if want := keystream(t, h[:], 2*aes.BlockSize+8)[2*aes.BlockSize:]; !bytes.Equal(got, want) {
		t.Fatalf("fill after reseed\n got % x\nwant % x", got, want)
	}

	want := GeneratorStats{SourceBytes: 2 * keySize, Reseeds: 1, GeneratedBytes: 37 + 16 + 8}
	if st := g.Stats(); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// A source that fails: no generator, and a failed reseed is counted and
// keeps the key.
func TestGeneratorSourceErrors(t *testing.T) {
	broken := errors.New("device gone")
	if _, err := NewGenerator("dead", iotest.ErrReader(broken)); !errors.Is(err, broken) {
		t.Errorf("NewGenerator from a failing source: %v, want %v", err, broken)
	}
	src := &flaky{r: &seq{}}
	g, err := NewGenerator("flaky", src)
	if err != nil {
		t.Fatal(err)
	}
	before := make([]byte, 16)
	twin, _ := NewGenerator("twin", &seq{})
	twin.Fill(before)
	src.err = broken
	if err := g.Reseed(); !errors.Is(err, broken) {
		t.Fatalf("Reseed: %v, want %v", err, broken)
	}
	after := make([]byte, 16)
	g.Fill(after)
	if !bytes.Equal(before, after) {
		t.Error("a failed reseed changed the key")
	}
	if st := g.Stats(); st.Reseeds != 1 || st.ReseedErrors != 1 || st.SourceBytes != keySize {
		t.Errorf("stats %+v, want 1 reseed, 1 error, %d source bytes", st, keySize)
	}
}

// flaky reads from r until err is set.
type flaky struct {
	r   *seq
	err error
}

func (f *flaky) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	return f.r.Read(p)
}
