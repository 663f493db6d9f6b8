//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tamanet/cmd/tamabench/internal/result"
	"tamanet/vm"
)

func TestVariant(t *testing.T) {
	for _, c := range []struct{ in, target, opts string }{
		{"busypoll", "tamanet-busypoll", "napi=busypoll"},
		{"offload=off", "tamanet-offload-off", "offload=off"},
		{"offload=off+tick=off", "tamanet-offload-off-tick-off", "offload=off tick=off"},
	} {
		if target, opts := variant(c.in); target != c.target || opts != c.opts {
			t.Errorf("variant(%q) = %q, %q; want %q, %q", c.in, target, opts, c.target, c.opts)
		}
	}
}

func TestForwardsFromEnvironment(t *testing.T) {
	t.Setenv("TB_HTTP_PORT", "18080")
	t.Setenv("TB_ECHO_PORT", "")
	t.Setenv("TB_ADMIN_PORT", "18081")
	ports, err := forwards(true)
	if err != nil {
		t.Fatal(err)
	}
	want := []vm.Port{{Guest: 80, Host: 18080}, {Guest: 7, UDP: true}, {Guest: 8081, Host: 18081}}
	if len(ports) != len(want) {
		t.Fatalf("forwards: %+v, want %+v", ports, want)
	}
	for i := range want {
		if ports[i] != want[i] {
			t.Errorf("forward %d: %+v, want %+v", i, ports[i], want[i])
		}
	}
	if ports, _ := forwards(false); len(ports) != 2 {
		t.Errorf("forwards without admin: %+v", ports)
	}
	t.Setenv("TB_ECHO_PORT", "echo")
	if _, err := forwards(false); err == nil {
		t.Error("TB_ECHO_PORT=echo: no error")
	}
}

func TestThreadShares(t *testing.T) {
	t0 := []vm.Thread{{TID: 1, Name: "qemu-system-x86", CPU: time.Second}, {TID: 2, Name: "CPU 0/TCG", CPU: 2 * time.Second}, {TID: 3, Name: "gone", CPU: 0}}
	t1 := []vm.Thread{{TID: 1, Name: "qemu-system-x86", CPU: 2 * time.Second}, {TID: 2, Name: "CPU 0/TCG", CPU: 11 * time.Second}, {TID: 4, Name: "new", CPU: time.Second}}
	got := threadShares(t0, t1, 10*time.Second)
	want := "2        CPU_0/TCG            90.0% of a core\n" +
		"1        qemu-system-x86      10.0% of a core\n"
	if got != want {
		t.Errorf("threadShares:\n%s\nwant:\n%s", got, want)
	}
}

// TestGuestCommandUsage checks the command lines the guest-booting
// commands refuse before they boot anything.
func TestGuestCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"interleave", "-n", "napi"},
		{"interleave", "-u", "/nonexistent/tamanet.elf"},
		{"interleave", "-N", "wifi"},
		{"profile", "image-only"},
		{"profile", "-s", "10", "guest_test.go", "keepalive"},
		{"profile", "guest_test.go", "nosuchtest"},
		{"soak", "-image", "guest_test.go", "-host", "127.0.0.1"},
		{"soak", "-image", "guest_test.go", "-qmp", "/tmp/qmp.sock"},
		{"soak", "-image", "guest_test.go", "extra"},
		{"accel"},
		{"accel", "-a", "hvf", "guest_test.go"},
	} {
		var out, errb bytes.Buffer
		err := dispatch(context.Background(), args, &out, &errb)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%s: got %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

func TestRunFlagsDropTraceForLinux(t *testing.T) {
	c := &interleave{runArgs: []string{"-duration", "1s", "-trace", "-q", "--trace=true"}}
	if got := strings.Join(c.runFlags("linux"), " "); got != "-duration 1s -q" {
		t.Errorf("linux: %q", got)
	}
	if got := strings.Join(c.runFlags("tamanet"), " "); got != "-duration 1s -trace -q --trace=true" {
		t.Errorf("tamanet: %q", got)
	}
}

// TestBeforeTargets checks -B: an earlier image against -u, the earlier
// one the base, no Linux, each target booting its own image.
func TestBeforeTargets(t *testing.T) {
	dir := t.TempDir()
	old, cur := filepath.Join(dir, "old.elf"), filepath.Join(dir, "new.elf")
	for _, f := range []string{old, cur} {
		if err := os.WriteFile(f, []byte("image"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &interleave{uni: cur, before: old, net: "user", accel: "tcg", rounds: 1, out: dir, cmdline: map[string]string{}}
	if err := c.plan(io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := []string{beforeTarget, "tamanet"}; !slices.Equal(c.targets, want) || c.base != beforeTarget {
		t.Fatalf("targets %v base %s; want %v base %s", c.targets, c.base, want, beforeTarget)
	}
	for target, image := range map[string]string{beforeTarget: old, "tamanet": cur} {
		cfg, err := c.config(target)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Image != image {
			t.Errorf("%s boots %s, want %s", target, cfg.Image, image)
		}
	}
	c = &interleave{uni: cur, before: old, modes: "napi,busypoll", net: "user", rounds: 1, out: dir, cmdline: map[string]string{}}
	if err := c.plan(io.Discard); err == nil {
		t.Error("-n with -B accepted")
	}
}

// TestNICVariants checks -nic and -dev: every target on -nic's NIC, each
// -dev target with its device properties added, the first the base, no
// Linux; and the flag's refusals.
func TestNICVariants(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "tamanet.elf")
	if err := os.WriteFile(img, []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	var devs nicVariants
	for _, d := range []string{"virtio=", "event-idx-off=event_idx=off", "offloads-off=csum=off,guest_csum=off"} {
		if err := devs.Set(d); err != nil {
			t.Fatal(err)
		}
	}
	c := &interleave{uni: img, nic: "virtio", machine: "microvm", devices: devs, net: "user", accel: "tcg", rounds: 1, out: dir, cmdline: map[string]string{}}
	if err := c.plan(io.Discard); err != nil {
		t.Fatal(err)
	}
	want := []string{"tamanet-virtio", "tamanet-event-idx-off", "tamanet-offloads-off"}
	if !slices.Equal(c.targets, want) || c.base != want[0] {
		t.Fatalf("targets %v base %s; want %v base %s", c.targets, c.base, want, want[0])
	}
	for target, nic := range map[string]string{
		"tamanet-virtio":        "virtio",
		"tamanet-event-idx-off": "virtio,event_idx=off",
		"tamanet-offloads-off":  "virtio,csum=off,guest_csum=off",
	} {
		cfg, err := c.config(target)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.NIC != nic || cfg.Machine != "microvm" {
			t.Errorf("%s: NIC %q on %q, want %q on microvm", target, cfg.NIC, cfg.Machine, nic)
		}
	}
	if !strings.Contains(c.bootNote, "nic virtio, machine microvm") {
		t.Errorf("results' note %q does not name the NIC", c.bootNote)
	}
	// Without -nic the properties go to qemu.sh's default model.
	if got := joinProps("", "mac=52:54:00:12:34:57"); got != "e1000,mac=52:54:00:12:34:57" {
		t.Errorf("joinProps on the default NIC: %q", got)
	}
	for _, bad := range []string{"noequals", "=event_idx=off", "a,b=x"} {
		if err := devs.Set(bad); err == nil {
			t.Errorf("-dev %s accepted", bad)
		}
	}
	devs = devs[:1]
	devs = append(devs, devs[0])
	c = &interleave{uni: img, devices: devs, net: "user", accel: "tcg", rounds: 1, out: dir, cmdline: map[string]string{}}
	if err := c.plan(io.Discard); err == nil {
		t.Error("-dev virtio= twice accepted")
	}
	c = &interleave{uni: img, devices: devs[:1], modes: "napi", net: "user", accel: "tcg", rounds: 1, out: dir, cmdline: map[string]string{}}
	if err := c.plan(io.Discard); err == nil {
		t.Error("-dev with -n accepted")
	}
}

func TestConsolePhases(t *testing.T) {
	t0 := time.Unix(100, 0)
	lines := []vm.Line{
		{Text: "qemu.sh: nic virtio-net-pci,netdev=net0,romfile=", At: t0.Add(50 * time.Millisecond)},
		{Text: "READY linuxd http=[::]:80 echo=[::]:7", At: t0.Add(7200 * time.Millisecond)},
		{Text: "init: eth0 10.0.2.15/24 via 10.0.2.2, mtu 1500, starting linuxd", At: t0.Add(7000 * time.Millisecond)},
		{Text: "READY linuxd again", At: t0.Add(9000 * time.Millisecond)},
	}
	got := consolePhases(lines, t0)
	want := []result.Phase{{Name: "init_eth0", MS: 7000}, {Name: "ready", MS: 7200}}
	if !slices.Equal(got, want) {
		t.Errorf("consolePhases: %+v, want %+v", got, want)
	}
	if got := consolePhases(lines[:1], t0); len(got) != 0 {
		t.Errorf("no phase lines: %+v", got)
	}
}
