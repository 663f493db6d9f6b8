//go:build tamago

package unikernel

import (
	"fmt"

	"tamanet/unikernel/tlsroots"
)

// installTLSRoots gives crypto/x509 Mozilla's roots, the CAs of ca= and
// those a program put under /etc/ssl/certs before Start, as a file it
// parses on its first verification (tlsroots.Install). A program that
// installed roots of its own (importing
// golang.org/x/crypto/x509roots/fallback) keeps them; then ca= and the
// files are an error, since they would be ignored.
func (s *System) installTLSRoots() error {
	roots, st, err := tlsroots.PEM(s.Options.CAs, tlsroots.CertDir)
	if err != nil {
		return err
	}
	if err := tlsroots.Install(tlsroots.File, roots); err != nil {
		if st.Options+st.Files > 0 {
			return fmt.Errorf("boot option ca= or %s: %w", tlsroots.CertDir, err)
		}
		fmt.Printf("%s: TLS roots: the program's own (%v)\n", s.Name, err)
		return nil
	}
	s.tlsRoots = st
	line := fmt.Sprintf("%s: TLS roots: %d (Mozilla %d, ca= %d, %s %d) in %s, parsed on first use; %d constrained Mozilla roots left out",
		s.Name, st.Trusted, st.Bundle, st.Options, tlsroots.CertDir, st.Files, tlsroots.File, st.Constrained)
	if st.FileErrors > 0 {
		line += fmt.Sprintf("; %d bad PEM blocks skipped, the last: %s", st.FileErrors, st.LastFileError)
	}
	fmt.Println(line)
	return nil
}
