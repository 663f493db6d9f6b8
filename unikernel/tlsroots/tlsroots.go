// Package tlsroots gives crypto/x509 its trusted roots in the unikernel,
// which has no system certificate files: on GOOS=tamago crypto/x509 looks
// in no file or directory of its own (its certFiles and certDirectories
// are empty, as for wasm), only where SSL_CERT_FILE points. Install writes
// the roots there as one PEM file: Mozilla's root program as
// golang.org/x/crypto/x509roots/fallback/bundle carries it, plus the CAs
// given on the command line (ca=, see ParseCAs) and the PEM files a
// program wrote under CertDir before bring-up. crypto/x509 parses the file
// on its first verification, not at boot: parsing the bundle took about
// 60 ms of the boot under TCG.
//
// A root the bundle constrains (distrusted for certificates issued after
// a date) is left out, counted in Stats.Constrained: a PEM file cannot
// carry the constraint, and trusting the root without it would accept
// what Mozilla distrusts.
package tlsroots

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// CertDir is where a program may put PEM files of extra CAs (each file
// may hold several) before the unikernel's bring-up, as on Linux.
const CertDir = "/etc/ssl/certs"

// File is where the unikernel installs the roots, named to crypto/x509 by
// SSL_CERT_FILE (outside CertDir, which holds the program's own files).
const File = "/etc/ssl/cert.pem"

// certFileEnv is the variable crypto/x509 reads File's name from.
const certFileEnv = "SSL_CERT_FILE"

// ParseCAs parses the value of the ca= boot option: DER certificates in
// base64 (standard or URL alphabet, padded or not), separated by commas.
// Each must be a CA certificate (basic constraints with CA set), so a
// server's own certificate given by mistake is reported, not trusted.
func ParseCAs(val string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for i, s := range strings.Split(val, ",") {
		c, err := parseCA(s)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

func parseCA(s string) (*x509.Certificate, error) {
	if s == "" {
		return nil, fmt.Errorf("empty")
	}
	der, err := decodeBase64(s)
	if err != nil {
		return nil, fmt.Errorf("not base64 (standard or URL alphabet): %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("not a DER certificate: %v", err)
	}
	if err := checkCA(c); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeBase64 decodes either alphabet, with or without padding.
func decodeBase64(s string) ([]byte, error) {
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	return enc.DecodeString(strings.TrimRight(s, "="))
}

func checkCA(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%q is not a CA certificate (no basic constraints with CA set)", c.Subject)
	}
	return nil
}

// Stats counts the roots installed.
type Stats struct {
	// Bundle counts Mozilla's roots, Options the ca= CAs, Files the CAs
	// read from CertDir's files; Trusted is their sum.
	Bundle  int `json:"bundle" metric:"gauge"`
	Options int `json:"options" metric:"gauge"`
	Files   int `json:"files" metric:"gauge"`
	Trusted int `json:"trusted" metric:"gauge"`
	// Constrained counts Mozilla's roots left out for a constraint the
	// file cannot carry.
	Constrained int `json:"constrained" metric:"gauge"`
	// FileErrors counts the files under CertDir that could not be read
	// and the PEM blocks in them that are not CA certificates (skipped,
	// the rest kept); LastFileError says why for the latest.
	FileErrors    int    `json:"file_errors"`
	LastFileError string `json:"last_file_error"`
}

// PEM gathers the roots as one PEM file: the bundle's unconstrained
// roots, extra and the CA certificates in the PEM files directly under dir
// (a missing dir is none). Only dir's files are parsed here.
func PEM(extra []*x509.Certificate, dir string) ([]byte, Stats, error) {
	var ders [][]byte
	var st Stats
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			st.Constrained++
			continue
		}
		ders = append(ders, r.Certificate)
		st.Bundle++
	}
	for _, c := range extra {
		ders = append(ders, c.Raw)
		st.Options++
	}
	files, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, st, fmt.Errorf("tlsroots: %w", err)
	}
	for _, f := range files {
		if f.IsDir() {
			continue
		}
		certs, errs := readPEM(filepath.Join(dir, f.Name()))
		for _, err := range errs {
			st.FileErrors++
			st.LastFileError = err.Error()
		}
		for _, c := range certs {
			ders = append(ders, c.Raw)
			st.Files++
		}
	}
	st.Trusted = st.Bundle + st.Options + st.Files
	return encodePEM(ders), st, nil
}

const (
	pemBegin = "-----BEGIN CERTIFICATE-----\n"
	pemEnd   = "-----END CERTIFICATE-----\n"
	// pemLine is the DER bytes of one line: 64 base64 characters.
	pemLine = 48
)

// encodePEM encodes ders as CERTIFICATE blocks (RFC 7468) into one buffer
// sized up front: pem.EncodeToMemory's buffer growth was most of the
// encoding's cost, about 8 ms of the boot under TCG.
func encodePEM(ders [][]byte) []byte {
	n := 0
	for _, der := range ders {
		n += len(pemBegin) + base64.StdEncoding.EncodedLen(len(der)) + (len(der)+pemLine-1)/pemLine + len(pemEnd)
	}
	out := make([]byte, 0, n)
	for _, der := range ders {
		out = append(out, pemBegin...)
		for len(der) > 0 {
			line := der[:min(len(der), pemLine)]
			out = base64.StdEncoding.AppendEncode(out, line)
			out = append(out, '\n')
			der = der[len(line):]
		}
		out = append(out, pemEnd...)
	}
	return out
}

// readPEM reads the CA certificates of a PEM file, skipping the blocks
// that are not; errs says why for each skipped block.
func readPEM(path string) (certs []*x509.Certificate, errs []error) {
	rest, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{err}
	}
	for n := 1; ; n++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return certs, errs
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err == nil {
			err = checkCA(c)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s, PEM block %d: %w", path, n, err))
			continue
		}
		certs = append(certs, c)
	}
}

// Install writes roots (PEM) to path (File in the unikernel) and names it
// in SSL_CERT_FILE, where
// crypto/x509 loads its roots from on its first verification. It must run
// before that first verification, which caches what it found. It fails if
// the program installed roots of its own: crypto/x509 prefers a file's
// roots to the fallback roots (x509.SetFallbackRoots, which a program that
// imports golang.org/x/crypto/x509roots/fallback calls in its init), so
// File would silently replace them; fallback roots set later panic, as
// after a second SetFallbackRoots.
func Install(path string, roots []byte) error {
	if err := claimFallback(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("tlsroots: %w", err)
	}
	if err := os.WriteFile(path, roots, 0o644); err != nil {
		return fmt.Errorf("tlsroots: %w", err)
	}
	if err := os.Setenv(certFileEnv, path); err != nil {
		return fmt.Errorf("tlsroots: %w", err)
	}
	return nil
}

// claimFallback sets empty fallback roots (x509.SetFallbackRoots may be
// called once), failing if they were set already.
func claimFallback() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tlsroots: the fallback roots were set already (does the program import golang.org/x/crypto/x509roots/fallback?): %v", r)
		}
	}()
	x509.SetFallbackRoots(x509.NewCertPool())
	return nil
}
