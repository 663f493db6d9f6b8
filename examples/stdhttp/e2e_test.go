//go:build !tamago

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

const bootTimeout = 3 * time.Minute

// dialResult is the /dial route's answer.
type dialResult struct {
	Connected bool   `json:"connected"`
	Error     string `json:"error"`
	Refused   bool   `json:"refused"`
	Timeout   bool   `json:"timeout"`
	Elapsed   string `json:"elapsed"`
}

// bootExample boots the example, an unmodified standard-library program
// plus one import, and waits for its first answer.
func bootExample(t *testing.T, cfg vm.Config) (*vm.Guest, string) {
	t.Helper()
	return bootExampleWith(t, cfg, func(*vm.Guest) {})
}

// bootExampleWith is bootExample with hostSide started once the guest's
// network is (its namespace, in tap mode).
func bootExampleWith(t *testing.T, cfg vm.Config, hostSide func(*vm.Guest)) (*vm.Guest, string) {
	t.Helper()
	cfg.Image = tamagotest.BuildImage(t, "./examples/stdhttp", "")
	g := vmtest.Start(t, cfg)
	hostSide(g)
	ready := vmtest.Await(t, g, "READY stdhttp", 0, bootTimeout)
	t.Logf("%s", ready.Text)
	// The READY line comes when http.ListenAndServe has bound its
	// listener through package net.
	if !strings.Contains(ready.Text, " tcp [::]:80") {
		t.Errorf("READY line does not name the listener tcp [::]:80: %s", ready.Text)
	}
	base := g.URL(80, "")
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	if _, err := g.AwaitHTTP(ctx, base+"/"); err != nil {
		t.Fatalf("no answer within %v of READY: %v", bootTimeout, err)
	}
	return g, base
}

func get(t *testing.T, client *http.Client, url string, wantStatus int) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: %s %s, want %d", url, resp.Status, body, wantStatus)
	}
	return string(body)
}

func getJSON(t *testing.T, client *http.Client, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, client, url, 200)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestStdHTTPUser: over QEMU user networking (127.0.0.1 only) the program
// serves with http.ListenAndServe, knows its host name, reaches itself on
// localhost through package net, and a dial to a closed port (a host port
// on 127.0.0.1 known closed, which QEMU's 10.0.2.2 stands for) fails with
// ECONNREFUSED.
func TestStdHTTPUser(t *testing.T) {
	g, base := bootExample(t, vm.Config{Ports: []vm.Port{{Guest: 80}}})
	client := g.HTTPClient()
	if body := get(t, client, base+"/", 200); !strings.HasPrefix(body, "hello from stdhttp, ") {
		t.Errorf("GET /: %q, want the host name stdhttp", body)
	}
	var self struct {
		Status int    `json:"status"`
		SHA256 string `json:"sha256"`
	}
	getJSON(t, client, base+"/fetch?url=http://localhost/", &self)
	if self.Status != 200 {
		t.Errorf("the program's GET of its own http://localhost/: status %d", self.Status)
	}
	var d dialResult
	getJSON(t, client, base+"/dial?timeout=1m&addr=10.0.2.2:"+closedPort(t), &d)
	if d.Connected || !d.Refused || d.Timeout {
		t.Errorf("dial to a closed port: %+v, want refused (ECONNREFUSED)", d)
	}
	// The text is Linux's, for programs that match on it.
	if !strings.HasSuffix(d.Error, ": connect: connection refused") {
		t.Errorf("dial to a closed port: error %q, want Linux's \"...: connect: connection refused\"", d.Error)
	}
}

// closedPort is a TCP port nothing listens on at 127.0.0.1 (one just
// released).
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}
