//go:build linux

package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"tamanet/cmd/tamabench/internal/ceiling"
	"tamanet/cmd/tamabench/internal/result"
	"tamanet/toolchain/tamagotest"
	"tamanet/vm/vmtest"
)

func TestParseCeilingModes(t *testing.T) {
	ms, err := parseCeilingModes(ceilingModes)
	if err != nil || len(ms) != 5 {
		t.Fatalf("%v %v", ms, err)
	}
	if ms[0] != (ceilingMode{"tx-60", "tx", 60}) || ms[2] != (ceilingMode{"tso", "tso", 0}) || ms[4] != (ceilingMode{"sink-1514", "sink", 1514}) {
		t.Errorf("modes %+v", ms)
	}
	for _, bad := range []string{"tx", "tx-59", "sink-x", "tso-100", "rx-60", ""} {
		if _, err := parseCeilingModes(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestCeilingBootOptions(t *testing.T) {
	c := &ceilingRun{seconds: 3}
	for m, want := range map[ceilingMode]string{
		{"tx-60", "tx", 60}:       "pktgen=tx pktgen_seconds=3 pktgen_dst=" + tapMAC + " pktgen_size=60",
		{"tso", "tso", 0}:         "pktgen=tso pktgen_seconds=3 pktgen_dst=" + tapMAC,
		{"sink-60", "sink", 1514}: "pktgen=sink",
	} {
		if got := c.bootOpts(m); got != want {
			t.Errorf("%s: %q, want %q", m.name, got, want)
		}
	}
}

func TestCeilingUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"ceiling"}, {"ceiling", "-modes", "rx-60", "x.elf"}, {"ceiling", "-seconds", "0", "x.elf"},
		{"ceiling", "-r", "0", "x.elf"}, {"ceiling", "/no/such/image.elf"},
	} {
		var out, errb bytes.Buffer
		err := dispatch(context.Background(), args, &out, &errb)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}

// TestCeilingE1000 runs tamabench ceiling against the real unikernel on the
// e1000, one short run of each direction, and checks what each side
// counted (never how fast).
func TestCeilingE1000(t *testing.T) {
	vmtest.RequireTap(t)
	vmtest.Tool(t, "nft", "nftables")
	image := tamagotest.BuildImage(t, "./cmd/tamanet", "")
	dir := t.TempDir()
	ratio := filepath.Join("testdata", "ratio.json")
	out, _ := runTool(t, "ceiling", "-a", "tcg", "-seconds", "1", "-modes", "tx-60,tso,sink-60", "-o", dir, "-share", ratio, image)
	for _, s := range []string{"dev/guest frames", "tx-60", "tso", "sink-60", "transfers as a share of the ceiling"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	f, err := ceiling.Load(filepath.Join(dir, "ceiling.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 3 || f.NIC != "e1000" {
		t.Fatalf("rows %+v", f.Rows)
	}
	for _, r := range f.Rows {
		if r.Guest.Frames <= 0 || r.Guest.Seconds <= 0 || r.Host.Frames <= 0 || r.Host.Seconds <= 0 {
			t.Errorf("%s: guest %+v host %+v: want frames and time on both sides", r.Name, r.Guest, r.Host)
		}
		// The e1000 has statistics registers, and they saw traffic.
		if r.Device == nil || r.Device.Frames <= 0 {
			t.Errorf("%s: device %+v", r.Name, r.Device)
		}
	}
	// The tap counts from when the start line reaches the host, so it can
	// miss the first frames but never see more than the guest sent.
	if tx := f.Find("tx-60"); tx.Host.Frames > tx.Guest.Frames || tx.Direction != ceiling.GuestTx {
		t.Errorf("tx-60: host %d frames, guest %d", tx.Host.Frames, tx.Guest.Frames)
	}
	// Every frame the guest counted came from the host's writer, through
	// QEMU's reads of the tap.
	if s := f.Find("sink-60"); s.Guest.Frames > s.TapRead || s.TapRead > s.Host.Frames || s.Direction != ceiling.GuestRx {
		t.Errorf("sink-60: guest %d, QEMU read %d, host wrote %d", s.Guest.Frames, s.TapRead, s.Host.Frames)
	}
	if tso := f.Find("tso"); tso.Size != 65000 || tso.WireSize != 1514 {
		t.Errorf("tso: size %d wire %d", tso.Size, tso.WireSize)
	}
}

// TestCeilingFrom re-reads a saved ceiling and puts a ratio table's
// transfers against it, without booting anything.
func TestCeilingFrom(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "ceiling.json")
	f := &ceiling.File{Schema: ceiling.Schema, NIC: "e1000", Seconds: 1, Rows: []ceiling.Row{
		{Name: "tso", Round: 1, Mode: "tso", Direction: ceiling.GuestTx, Host: ceiling.Count{Frames: 1, Bytes: 258e6, Seconds: 1}},
		{Name: "sink-1514", Round: 1, Mode: "sink", Direction: ceiling.GuestRx, Guest: ceiling.Count{Frames: 1, Bytes: 289e6, Seconds: 1}},
	}}
	if err := ceiling.Save(saved, f); err != nil {
		t.Fatal(err)
	}
	out, _ := runTool(t, "ceiling", "-from", saved, "-share", filepath.Join("testdata", "ratio.json"), "-o", dir)
	// testdata/ratio.json: tamanet downloads 129 MB/s, Linux uploads 26.16.
	rows := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		rows[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, s := range []string{"tamanet download 129.00 tso 258.00 50.0%", "linux upload 26.16 sink-1514 289.00 9.1%", "tamanet download 129.00 tx-1514 - -"} {
		if !rows[s] {
			t.Errorf("output lacks the row %q:\n%s", s, out)
		}
	}
	var shares []ceiling.Share
	if err := result.ReadJSON(filepath.Join(dir, "share.json"), &shares); err != nil || len(shares) != 6 {
		t.Errorf("share.json: %v %+v", err, shares)
	}
}
