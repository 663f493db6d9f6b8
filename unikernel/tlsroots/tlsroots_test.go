package tlsroots_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tamanet/unikernel/tlsroots"
	"tamanet/unikernel/tlsroots/tlsrootstest"
)

func newCA(t *testing.T, name string) *tlsrootstest.CA {
	t.Helper()
	ca, err := tlsrootstest.NewCA(name, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// TestParseCAs: ca= takes CAs in either base64 alphabet, padded or not,
// and says which certificate is wrong and why.
func TestParseCAs(t *testing.T) {
	a, b := newCA(t, "test CA a"), newCA(t, "test CA b")
	leaf, err := a.Issue([]string{"web.tamanet.test"})
	if err != nil {
		t.Fatal(err)
	}
	std := base64.StdEncoding.EncodeToString(b.Cert.Raw)
	certs, err := tlsroots.ParseCAs(a.BootOption() + "," + std)
	if err != nil || len(certs) != 2 || !certs[0].Equal(a.Cert) || !certs[1].Equal(b.Cert) {
		t.Fatalf("two CAs: %d certificates, %v", len(certs), err)
	}
	for _, tc := range []struct{ name, val, want string }{
		{"a server certificate", a.BootOption() + "," + base64.RawURLEncoding.EncodeToString(leaf.Certificate[0]), `certificate 2: "CN=web.tamanet.test" is not a CA certificate`},
		{"garbage base64", "not*base64", "certificate 1: not base64"},
		{"base64 of garbage", base64.RawURLEncoding.EncodeToString([]byte("hello, world")), "certificate 1: not a DER certificate"},
		{"an empty item", a.BootOption() + ",", "certificate 2: empty"},
		{"a truncated certificate", a.BootOption()[:200], "certificate 1: not a DER certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tlsroots.ParseCAs(tc.val); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestPEM: Mozilla's unconstrained roots, the option's CAs and the files'
// CAs are all in the file and verify; a bad file block is counted and
// skipped.
func TestPEM(t *testing.T) {
	opt, file := newCA(t, "option CA"), newCA(t, "file CA")
	dir := t.TempDir()
	notCA, err := file.Issue([]string{"x.test"})
	if err != nil {
		t.Fatal(err)
	}
	bad := append(file.PEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: notCA.Certificate[0]})...)
	if err := os.WriteFile(filepath.Join(dir, "extra.pem"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	roots, st, err := tlsroots.PEM([]*x509.Certificate{opt.Cert}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bundle < 100 || st.Options != 1 || st.Files != 1 || st.FileErrors != 1 || st.Trusted != st.Bundle+2 ||
		!strings.Contains(st.LastFileError, "PEM block 2") {
		t.Errorf("stats %+v", st)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(roots)
	if n := len(pool.Subjects()); n != st.Trusted {
		t.Errorf("%d certificates in the file, stats say %d", n, st.Trusted)
	}
	for _, ca := range []*tlsrootstest.CA{opt, file} {
		srv, err := ca.Issue([]string{"web.tamanet.test"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "web.tamanet.test"}); err != nil {
			t.Errorf("%s: %v", ca.Cert.Subject, err)
		}
	}
	if _, _, err := tlsroots.PEM(nil, filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing directory: %v", err)
	}
}

// TestInstall: crypto/x509's first verification without roots of its
// own reads the installed file; a second Install (as after a program's
// own x509roots/fallback import) is an error, not a panic.
func TestInstall(t *testing.T) {
	t.Setenv("SSL_CERT_FILE", "") // restored after the test
	ca := newCA(t, "install CA")
	path := filepath.Join(t.TempDir(), "etc", "ssl", "cert.pem")
	if err := tlsroots.Install(path, ca.PEM()); err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue([]string{"web.tamanet.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Leaf.Verify(x509.VerifyOptions{DNSName: "web.tamanet.test"}); err != nil {
		t.Errorf("verify with the installed roots: %v", err)
	}
	if err := tlsroots.Install(path, ca.PEM()); err == nil || !strings.Contains(err.Error(), "set already") {
		t.Errorf("second Install: %v", err)
	}
}
