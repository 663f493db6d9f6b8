//go:build !tamago

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tamanet/vm/vmtest"
)

// pcapPackets is how many packets testPcap captures.
const pcapPackets = 300

// testPcap captures GET /debug/pcap while downloading over another
// connection and reads the file back with Debian's tshark: the packet count
// asked for, TCP of the download in it, no malformed packet, and nothing of
// the capture's own connection (whose response names the pcap media type).
func (g *guest) testPcap(t *testing.T) {
	tshark := vmtest.Tool(t, "tshark", "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), bulkTimeout)
	defer cancel()
	// Its own connection, apart from the download's.
	capClient := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	req, _ := http.NewRequestWithContext(ctx, "GET",
		fmt.Sprintf("%s/debug/pcap?packets=%d&seconds=120&snaplen=256", g.admin, pcapPackets), nil)
	resp, err := capClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/vnd.tcpdump.pcap" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /debug/pcap: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	// The file header arrives as soon as the capture runs.
	var file bytes.Buffer
	if _, err := io.CopyN(&file, resp.Body, 24); err != nil {
		t.Fatalf("pcap header: %v", err)
	}

	// A second capture meanwhile is refused.
	if r, err := g.client.Get(g.admin + "/debug/pcap?packets=1"); err != nil || r.StatusCode != http.StatusConflict {
		t.Errorf("concurrent capture: %v, status %v", err, r)
	} else {
		r.Body.Close()
	}
	g.testDownload(t, 2<<20, false)
	if _, err := io.Copy(&file, resp.Body); err != nil {
		t.Fatalf("pcap stream: %v", err)
	}
	path := filepath.Join(t.TempDir(), "capture.pcap")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tsharkOut := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tshark, append([]string{"-n", "-r", path}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	protos := strings.Split(tsharkOut("-T", "fields", "-e", "frame.protocols"), "\n")
	if len(protos) != pcapPackets {
		t.Errorf("tshark reads %d packets, want %d", len(protos), pcapPackets)
	}
	tcp := 0
	for _, p := range protos {
		if strings.HasPrefix(p, "raw:ip:tcp") {
			tcp++
		}
	}
	if tcp < pcapPackets/2 {
		t.Errorf("%d of %d packets are TCP, want most (a download ran): %q", tcp, len(protos), protos[:min(5, len(protos))])
	}
	// The HTTP dissector is left out of this check: a capture that starts
	// mid-stream cuts chunked bodies, which it calls malformed; every
	// layer that the capture itself writes (pcap, IP, TCP, UDP) is checked.
	if bad := tsharkOut("--disable-protocol", "http", "-Y", "_ws.malformed"); bad != "" {
		t.Errorf("tshark finds malformed packets:\n%s", bad)
	}
	if own := tsharkOut("-Y", `frame contains "tcpdump.pcap"`); own != "" {
		t.Errorf("the capture holds its own connection:\n%s", own)
	}
	t.Logf("captured %d packets (%d TCP), %d bytes; first: %s", len(protos), tcp, file.Len(),
		strings.SplitN(tsharkOut("-c", "1"), "\n", 2)[0])
}
