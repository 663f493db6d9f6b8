package tamagotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool returns the path of a host command a test needs (promtool, tshark,
// dnsmasq, ...), installing the Debian package that holds it through
// scripts/ensure-tool.sh, the script make test and CI use: a test never
// assumes a tool, and never skips for lack of one.
func Tool(t testing.TB, command, debianPackage string) string {
	t.Helper()
	if p, err := exec.LookPath(command); err == nil {
		return p
	}
	cmd := exec.Command(filepath.Join(RepoRoot(t), "scripts", "ensure-tool.sh"), command, debianPackage)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("installing %s (Debian %s): %v", command, debianPackage, err)
	}
	return strings.TrimSpace(string(out))
}
