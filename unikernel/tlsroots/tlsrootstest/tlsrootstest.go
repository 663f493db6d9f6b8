// Package tlsrootstest makes a throwaway certificate authority and server
// certificates for tests: the CA in the form the unikernel's ca= boot
// option takes, the server's as a tls.Certificate to serve with.
package tlsrootstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/netip"
	"time"
)

// CA is a test certificate authority. Its ECDSA P-256 key keeps the
// certificate small (about 400 bytes of DER): the unikernel's command line
// holds 4096 bytes.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// from is when it and the certificates it issues become valid.
	from time.Time
}

// validity is how long the certificates are good for after they are made.
const validity = 30 * 24 * time.Hour

// NewCA makes a CA named name, valid (as are the certificates it issues)
// from validFrom, or, if that is zero, from a day before now (a clock a
// little behind still accepts them).
func NewCA(name string, validFrom time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if validFrom.IsZero() {
		validFrom = now.Add(-24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"tamanet tests"}},
		NotBefore:             validFrom,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, from: validFrom}, nil
}

// BootOption is the CA as the value of the ca= boot option: its DER in
// URL-safe base64 without padding.
func (ca *CA) BootOption() string { return base64.RawURLEncoding.EncodeToString(ca.Cert.Raw) }

// PEM is the CA certificate in PEM, for a file or curl's --cacert.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Pool is a pool holding only the CA, for a host-side client.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue makes a server certificate for DNS names and IP addresses, signed
// by the CA.
func (ca *CA) Issue(names []string, addrs ...netip.Addr) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: firstOr(names, "server")},
		DNSNames:     names,
		NotBefore:    ca.from,
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, a := range addrs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, a.AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsrootstest: issue %v: %w", names, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// serial is a random 128-bit serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n
}
