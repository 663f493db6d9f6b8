//go:build tamago

// Command namecheck runs, as a Linux process under the GOOS=tamago port
// (tamago's user/linux overlay), what the unikernel's bring-up does for
// names and TLS roots, and checks that the standard library takes it
// unmodified: Go's resolver reads the /etc/hosts that resolvconf writes
// in the in-memory file system (its own name resolves without DNS), a
// resolv.conf without a name server makes a lookup fail promptly, a
// rewritten one (a renewed lease's servers) is read again, and
// crypto/x509 verifies a certificate from a CA installed by tlsroots with
// no roots of its own (the file it names in SSL_CERT_FILE). It prints one
// line per check and exits non-zero if any fails.
package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/usbarmory/tamago/user/linux"

	"tamanet/unikernel/resolvconf"
	"tamanet/unikernel/tlsroots"
	"tamanet/unikernel/tlsroots/tlsrootstest"
)

// promptly bounds a failed lookup without a name server: a second per
// default server with NoServerOptions, and slack for a loaded machine.
const promptly = 20 * time.Second

func main() {
	failed := 0
	check := func(name string, err error) {
		if err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", name, err)
			return
		}
		fmt.Printf("ok   %s\n", name)
	}
	check("own name from /etc/hosts", ownName())
	check("no name server: a prompt error", noServer())
	check("a rewritten resolv.conf is read again", rewritten())
	check("x509 verifies with the installed roots", roots())
	fmt.Printf("namecheck: %d failed\n", failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func ownName() error {
	w := &resolvconf.Writer{Root: "/"}
	c := resolvconf.Config{Hostname: "kv", Domain: "tamanet.test", Addrs: []netip.Addr{netip.MustParseAddr("10.0.2.15")}}
	if _, err := w.Update(c); err != nil {
		return err
	}
	for _, name := range []string{"kv", "kv.tamanet.test"} {
		addrs, err := net.LookupHost(name)
		if err != nil || !slices.Equal(addrs, []string{"10.0.2.15"}) {
			return fmt.Errorf("LookupHost(%s) = %v, %v", name, addrs, err)
		}
	}
	names, err := net.LookupAddr("10.0.2.15")
	if err != nil || len(names) == 0 || names[0] != "kv.tamanet.test." {
		return fmt.Errorf("LookupAddr(10.0.2.15) = %v, %v", names, err)
	}
	return nil
}

func noServer() error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, "web.tamanet.test")
	took := time.Since(start)
	fmt.Printf("     lookup without a name server: %v after %v\n", err, took.Round(time.Millisecond))
	switch {
	case err == nil:
		return fmt.Errorf("resolved to %v", addrs)
	case took > promptly:
		return fmt.Errorf("took %v", took)
	}
	return nil
}

// rewritten writes a name server (TEST-NET-1, which the port's fake
// network never reaches) and waits for a lookup to name it: Go's resolver
// looks at resolv.conf's modification time at most every 5 seconds.
func rewritten() error {
	w := &resolvconf.Writer{Root: "/"}
	server := netip.MustParseAddr("192.0.2.53")
	if _, err := w.Update(resolvconf.Config{Servers: []netip.Addr{server}}); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := net.LookupHost("web.tamanet.test")
		if err != nil && strings.Contains(err.Error(), "on "+server.String()+":53") {
			fmt.Printf("     after the rewrite: %v\n", err)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("a minute on, lookups still say %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func roots() error {
	ca, err := tlsrootstest.NewCA("namecheck CA", time.Time{})
	if err != nil {
		return err
	}
	srv, err := ca.Issue([]string{"web.tamanet.test"})
	if err != nil {
		return err
	}
	// No verification before Install: crypto/x509 keeps the roots its
	// first verification found.
	roots, st, err := tlsroots.PEM([]*x509.Certificate{ca.Cert}, tlsroots.CertDir)
	if err != nil {
		return err
	}
	if err := tlsroots.Install(tlsroots.File, roots); err != nil {
		return err
	}
	fmt.Printf("     roots: %+v\n", st)
	_, err = srv.Leaf.Verify(x509.VerifyOptions{DNSName: "web.tamanet.test"})
	return err
}
