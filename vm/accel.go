//go:build linux

package vm

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// ResolveAccel is the accelerator qemu.sh's "-a auto" picks for image on
// machine ("" means qemu.sh's default, pc): it runs the same probe,
// scripts/probe-kvm.sh, once. A benchmark resolves "auto" this way before
// its first boot and gives every guest of the run the answer, so all of
// them run on one accelerator (see qemu.sh's -a for the rule and why).
func ResolveAccel(image, machine string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	if machine == "" {
		machine = "pc"
	}
	qemu, err := exec.Command(filepath.Join(root, "scripts", "ensure-qemu.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("vm: scripts/ensure-qemu.sh: %w", err)
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "probe-kvm.sh"),
		strings.TrimSpace(string(qemu)), image, machine).Output()
	if err != nil {
		return "", fmt.Errorf("vm: scripts/probe-kvm.sh: %w", err)
	}
	switch a := strings.TrimSpace(string(out)); a {
	case "tcg", "kvm":
		return a, nil
	default:
		return "", fmt.Errorf("vm: scripts/probe-kvm.sh printed %q, want tcg or kvm", a)
	}
}
