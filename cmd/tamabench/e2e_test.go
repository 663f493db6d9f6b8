//go:build linux

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tamanet/cmd/internal/service"
	"tamanet/cmd/tamabench/internal/result"
)

// startService runs cmd/internal/service on 127.0.0.1: HTTP, and TCP and
// UDP echo on one port number, as a guest's port forwards would.
func startService(t *testing.T, name string) (httpPort, echoPort string) {
	t.Helper()
	svc := service.New(service.Config{Name: name})
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(el.Addr().String())
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	srv := svc.HTTPServer()
	go srv.Serve(hl)
	go svc.ServeTCPEcho(el)
	go svc.ServeUDPEcho(pc)
	t.Cleanup(func() { srv.Close(); el.Close(); pc.Close() })
	_, hp, _ := net.SplitHostPort(hl.Addr().String())
	return hp, port
}

func runTool(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := dispatch(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("tamabench %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	for _, target := range []string{"linux", "tamanet"} {
		hp, ep := startService(t, target)
		for round := 1; round <= 2; round++ {
			out, _ := runTool(t, "run", "-name", target, "-round", strconv.Itoa(round),
				"-http-port", hp, "-tcp-port", ep, "-udp-port", ep,
				"-duration", "0", "-max-ops", "8", "-warmup", "0", "-bulk-size", "256K",
				"-concurrency", "1,4", "-out", dir, "-q", "-boot-start", "now")
			if !strings.Contains(out, "http_keepalive") || !strings.Contains(out, "rps_c4") {
				t.Fatalf("table:\n%s", out)
			}
		}
	}
	f, err := result.Load(filepath.Join(dir, "linux-r2.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"boot", "http_keepalive", "http_newconn", "tcp_echo", "udp_echo", "rps_c1", "rps_c4", "download", "upload"}
	if len(f.Tests) != len(want) {
		t.Fatalf("tests %+v", f.Tests)
	}
	for i, name := range want {
		tt := f.Tests[i]
		// The boot wait counts attempts that did not answer within their
		// short connect timeout as errors: on a loaded host some do, even
		// against a server that is up.
		if tt.Name != name || tt.Count == 0 || (tt.Errors != 0 && name != "boot") {
			t.Errorf("test %d: %s count %d errors %d (%s), want %s", i, tt.Name, tt.Count, tt.Errors, tt.FirstError, name)
		}
	}
	if f.Find("download").Bytes != f.Find("download").Count*256<<10 {
		t.Errorf("download bytes %d", f.Find("download").Bytes)
	}
	for _, p := range []string{"linux-r1-cdf-http_keepalive.png", "linux-r1-cdf-udp_echo.png", "linux-r1-pct-udp_echo.png", "tamanet-r2-rps.png"} {
		checkPNG(t, filepath.Join(dir, p))
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 4 {
		t.Fatalf("result files %v", files)
	}
	plots := filepath.Join(dir, "plots")
	table := filepath.Join(dir, "ratio.json")
	out, _ := runTool(t, append([]string{"compare", "-base", "linux", "-json", table, "-plots", plots}, files...)...)
	if !strings.Contains(out, "linux=2 tamanet=2") || !strings.Contains(out, "tamanet  http_keepalive  p50") {
		t.Fatalf("compare:\n%s", out)
	}
	if b, err := os.ReadFile(table); err != nil || !bytes.Contains(b, []byte(`"metric": "MB/s"`)) {
		t.Fatalf("ratio json: %v\n%s", err, b)
	}
	checkPNG(t, filepath.Join(plots, "compare-cdf-tcp_echo.png"))
	checkPNG(t, filepath.Join(plots, "compare-pct-tcp_echo.png"))
	checkPNG(t, filepath.Join(plots, "compare-rps.png"))
}

func TestBootCommand(t *testing.T) {
	hp, _ := startService(t, "x")
	out, _ := runTool(t, "boot", "-url", "http://127.0.0.1:"+hp+"/", "-start", "now")
	if !strings.HasPrefix(out, "boot-to-first-response ") {
		t.Fatalf("got %q", out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil, {"bogus"}, {"run", "-host", "10.0.2.15"}, {"run", "-tests", "nope"},
		{"run", "-bulk-size", "0"}, {"compare", "one.json"}, {"boot", "-url", "http://192.168.0.1/"},
	} {
		var out, errb bytes.Buffer
		err := dispatch(context.Background(), args, &out, &errb)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s: not a PNG (%v)", path, err)
	}
}
