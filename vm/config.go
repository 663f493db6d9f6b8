package vm

import (
	"fmt"
	"strconv"
)

// Network is how the guest's NIC reaches the host.
type Network int

const (
	// User is QEMU user networking: the guest is 10.0.2.15 behind slirp and
	// the host reaches the guest ports of Config.Ports through forwards
	// from 127.0.0.1.
	User Network = iota
	// Tap puts QEMU in a network namespace of its own holding a tap
	// (10.0.2.2/24); clients reach the guest at 10.0.2.15 from inside the
	// namespace (Guest.DialContext, Guest.Command).
	Tap
	// NoNIC boots the machine without a network device.
	NoNIC
)

func (n Network) String() string {
	switch n {
	case User:
		return "user"
	case Tap:
		return "tap"
	case NoNIC:
		return "none"
	}
	return "network(" + strconv.Itoa(int(n)) + ")"
}

// Port is a guest port the host reaches. In user networking it is forwarded
// from 127.0.0.1:Host (0: a free port, chosen at Start); in tap mode the
// guest's own port is reached directly and Host is unused.
type Port struct {
	Guest int
	Host  int
	UDP   bool // forward UDP as well as TCP, on the same host port
}

// Config is one guest. The zero value of a field means qemu.sh's default,
// so the launcher and qemu.sh agree on every default by construction.
type Config struct {
	Image    string // kernel image: a tamanet ELF or a Linux bzImage
	Initrd   string
	Cmdline  string // boot options (kernel command line)
	Machine  string // pc (default), q35, microvm
	Firmware string // qboot (default) or seabios
	// Accel is tcg, kvm or auto (the default: KVM only if a probe boot of
	// the image works on it; see scripts/probe-kvm.sh). Benchmarks resolve
	// it once (ResolveAccel) so every guest of a run uses the same.
	Accel  string
	Memory string // e.g. 1G (default), 300M

	// NIC is the network device and any device properties, as qemu.sh's
	// -n takes them: e1000 (default), virtio, virtio,mrg_rxbuf=off. Its
	// netdev is net0 whichever it is (QMP set_link).
	NIC     string
	Network Network
	Ports   []Port // user networking's forwards (tap mode: ignored)
	TapMTU  int    // tap mode: the tap's MTU (0: 1500)
	TapIPv6 bool   // tap mode: fd00:1::2/64 on the tap besides 10.0.2.2/24
	TapMAC  string // tap mode: the tap's MAC address (empty: the kernel's random one)
	Netns   string // tap mode: the namespace's name (empty: one is made up)

	QMP         bool     // a QMP socket (Guest.QMP)
	NoDebugExit bool     // no isa-debug-exit device: the guest cannot exit with a status
	QEMUArgs    []string // appended to QEMU's command line
}

// scriptArgs is qemu.sh's command line for c, with the QEMU pid file and
// the QMP socket at the given paths and ports resolved to host ports.
func (c Config) scriptArgs(ports []Port, pidFile, qmpSock string) []string {
	var a []string
	opt := func(flag, v string) {
		if v != "" {
			a = append(a, flag, v)
		}
	}
	opt("-a", c.Accel)
	opt("-f", c.Firmware)
	opt("-M", c.Machine)
	opt("-m", c.Memory)
	opt("-i", c.Initrd)
	opt("-k", c.Cmdline)
	switch c.Network {
	case User:
		for _, p := range ports {
			proto := "tcp"
			if p.UDP {
				proto = "tcp+udp"
			}
			a = append(a, "-F", fmt.Sprintf("%s:%d:%d", proto, p.Host, p.Guest))
		}
	case Tap:
		a = append(a, "-t", c.Netns)
		if c.TapMTU != 0 {
			a = append(a, "-u", strconv.Itoa(c.TapMTU))
		}
		if c.TapIPv6 {
			a = append(a, "-6")
		}
		opt("-H", c.TapMAC)
	case NoNIC:
		a = append(a, "-0")
	}
	if c.Network != NoNIC {
		opt("-n", c.NIC)
	}
	if c.NoDebugExit {
		a = append(a, "-X")
	}
	opt("-q", qmpSock)
	a = append(a, c.Image, "--", "-pidfile", pidFile)
	return append(a, c.QEMUArgs...)
}
