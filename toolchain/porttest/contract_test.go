//go:build !tamago

package porttest

import (
	"os/exec"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

// TestContract compiles the unmodified tamago packages tamanet relies on,
// net/http and the gVisor netstack for GOOS=tamago.
func TestContract(t *testing.T) {
	const gvisor = "gvisor.dev/gvisor/pkg/tcpip/"
	pkgs := []string{
		"github.com/usbarmory/tamago/amd64",
		"github.com/usbarmory/tamago/amd64/lapic",
		"github.com/usbarmory/tamago/dma",
		"github.com/usbarmory/tamago/bits",
		"github.com/usbarmory/tamago/soc/intel/ioapic",
		"github.com/usbarmory/tamago/soc/intel/pci",
		"github.com/usbarmory/tamago/soc/intel/rtc",
		"github.com/usbarmory/tamago/soc/intel/uart",
		"github.com/usbarmory/tamago/kvm/pvclock",
		"github.com/usbarmory/tamago/board/qemu/microvm",
		"github.com/usbarmory/tamago/user/linux",
		"net/http",
		gvisor + "stack", gvisor + "header", gvisor + "network/ipv4", gvisor + "network/ipv6",
		gvisor + "network/arp", gvisor + "transport/tcp", gvisor + "transport/udp",
		gvisor + "transport/icmp", gvisor + "adapters/gonet",
	}
	cmd := exec.Command(tamagotest.Go(t), append([]string{"build"}, pkgs...)...)
	cmd.Dir = tamagotest.RepoRoot(t)
	cmd.Env = tamagotest.Env()
	r, err := tamagotest.Run(cmd, 10*time.Minute)
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("GOOS=tamago build: %v, exit %d\n%s", err, r.ExitCode, r.Output)
	}
}
