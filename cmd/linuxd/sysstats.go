package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysSource reads the Linux counters that matter for a network benchmark:
// the interface statistics in sysfs and the interface's interrupt count in
// /proc/interrupts. root is "/" in the guest and a fake tree in tests.
type sysSource struct {
	root, ifname string
}

// sysStats is the "system" member of GET /stats and the linux_* metrics
// (see tamanet/expose): linux_counters_total{interface="eth0",counter="rx_packets"},
// linux_irqs_total{interface="eth0"}.
type sysStats struct {
	Interface string            `json:"interface" metric:"label"`
	Counters  map[string]uint64 `json:"counters" metric:"label=counter"`
	IRQs      uint64            `json:"irqs"`
	// Errors name the sources that could not be read (JSON only).
	Errors []string `json:"errors,omitempty"`
}

func (s sysSource) stats() sysStats {
	st := sysStats{Interface: s.ifname}
	var err error
	if st.Counters, err = s.netCounters(); err != nil {
		st.Errors = append(st.Errors, err.Error())
	}
	if st.IRQs, err = s.irqs(); err != nil {
		st.Errors = append(st.Errors, err.Error())
	}
	return st
}

// netCounters reads /sys/class/net/IF/statistics/*.
func (s sysSource) netCounters() (map[string]uint64, error) {
	dir := filepath.Join(s.root, "sys/class/net", s.ifname, "statistics")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := make(map[string]uint64, len(ents))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return m, err
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %w", e.Name(), err)
		}
		m[e.Name()] = v
	}
	return m, nil
}

// irqs sums, over all CPUs, the /proc/interrupts lines whose action list
// names the interface or, for drivers that name their vectors after the
// device rather than the interface (virtio_net: virtio0 on a shared line,
// virtio0-config, virtio0-input.0, virtio0-output.0 with MSI-X), its
// device.
func (s sysSource) irqs() (uint64, error) {
	f, err := os.Open(filepath.Join(s.root, "proc/interrupts"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, fmt.Errorf("proc/interrupts: empty")
	}
	ncpu := len(strings.Fields(sc.Text())) // header: CPU0 CPU1 ...
	dev := s.deviceName()
	var total uint64
	found := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 1+ncpu || !strings.HasSuffix(f[0], ":") || !names(f[1+ncpu:], s.ifname, dev) {
			continue
		}
		found = true
		for _, c := range f[1 : 1+ncpu] {
			v, err := strconv.ParseUint(c, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("proc/interrupts: %s: %w", f[0], err)
			}
			total += v
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("proc/interrupts: no line for %s", s.ifname)
	}
	return total, nil
}

// deviceName is the name of the interface's device (the last element of
// its sysfs device link: virtio0 for virtio_net), "" if it has none.
func (s sysSource) deviceName() string {
	link, err := os.Readlink(filepath.Join(s.root, "sys/class/net", s.ifname, "device"))
	if err != nil {
		return ""
	}
	return filepath.Base(link)
}

// names reports whether the trailing fields of an interrupt line (chip,
// trigger, action names separated by ", ") include ifname, or dev or one
// of its vectors (dev-NAME) when dev is not "".
func names(fields []string, ifname, dev string) bool {
	for _, f := range fields {
		f = strings.TrimSuffix(f, ",")
		if f == ifname || dev != "" && (f == dev || strings.HasPrefix(f, dev+"-")) {
			return true
		}
	}
	return false
}
