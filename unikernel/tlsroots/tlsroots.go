// Package tlsroots gives crypto/x509 its trusted roots in the unikernel,
// which has no system certificate files: on GOOS=tamago crypto/x509 looks
// in no file or directory (its certFiles and certDirectories are empty, as
// for wasm), so verification uses the fallback roots
// (x509.SetFallbackRoots). The pool installed there is Mozilla's root
// program as golang.org/x/crypto/x509roots/fallback/bundle carries it
// (with its constraints), plus the CAs given on the command line (ca=, see
// ParseCAs) and the PEM files a program wrote under CertDir before
// bring-up.
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
	// FileErrors counts the files under CertDir that could not be read
	// and the PEM blocks in them that are not CA certificates (skipped,
	// the rest kept); LastFileError says why for the latest.
	FileErrors    int    `json:"file_errors"`
	LastFileError string `json:"last_file_error"`
}

// Pool builds the pool: the bundle, extra and the CA certificates in the
// PEM files directly under dir (a missing dir is none).
func Pool(extra []*x509.Certificate, dir string) (*x509.CertPool, Stats, error) {
	p := x509.NewCertPool()
	var st Stats
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			return nil, st, fmt.Errorf("tlsroots: root bundle: %w", err)
		}
		if r.Constraint == nil {
			p.AddCert(c)
		} else {
			p.AddCertWithConstraint(c, r.Constraint)
		}
		st.Bundle++
	}
	for _, c := range extra {
		p.AddCert(c)
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
			p.AddCert(c)
			st.Files++
		}
	}
	st.Trusted = st.Bundle + st.Options + st.Files
	return p, st, nil
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

// Install makes p the roots crypto/x509 verifies with. It fails if the
// fallback roots were set already (x509.SetFallbackRoots may be called
// once: a program that imports golang.org/x/crypto/x509roots/fallback
// sets them in its init).
func Install(p *x509.CertPool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tlsroots: the fallback roots were set already (does the program import golang.org/x/crypto/x509roots/fallback?): %v", r)
		}
	}()
	x509.SetFallbackRoots(p)
	return nil
}
