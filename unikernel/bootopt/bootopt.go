// Package bootopt parses a tamanet unikernel's boot options: the kernel
// command line QEMU passes with -append, as space-separated key=value words.
//
//	napi=napi|interrupt|busypoll   how the e1000 is serviced (default napi)
//	budget=N                       packets per NAPI poll round, 1-4096 (default 64)
//	mitigation=on|off              the e1000's interrupt moderation timers (ITR,
//	                               RDTR, RADV, TIDV, TADV; default on); off raises
//	                               every interrupt at once, so the modes can be
//	                               compared without the hardware throttle
//	offload=on|off                 TSO, TX checksum insertion and GRO (default on)
//	rng=insecure                   boot on a CPU without RDRAND and with no
//	                               virtio-rng device, drawing TCP sequence
//	                               numbers from a predictable generator
//
// Unknown keys and bad values are errors, so a mistyped option is reported
// at boot instead of silently running the default.
package bootopt

import (
	"fmt"
	"strconv"
	"strings"

	"tamanet/napi"
)

// MaxBudget bounds budget=N: more than a receive ring of packets per round
// buys nothing.
const MaxBudget = 4096

// Options are the parsed boot options.
type Options struct {
	// Mode is the NAPI mode (napi=).
	Mode napi.Mode
	// Budget is the packets per poll round (budget=); 0 means napi's
	// default.
	Budget int
	// NoMitigation turns the interrupt moderation timers off
	// (mitigation=off).
	NoMitigation bool
	// NoOffload is offload=off: the device's offloads and GRO unused.
	NoOffload bool
	// InsecureRNG accepts a predictable random generator when there is no
	// real entropy source (rng=insecure).
	InsecureRNG bool
}

// Parse parses a command line. An empty line gives the zero Options.
func Parse(cmdline string) (Options, error) {
	var o Options
	seen := map[string]bool{}
	for _, word := range strings.Fields(cmdline) {
		key, val, ok := strings.Cut(word, "=")
		if !ok || val == "" {
			return Options{}, fmt.Errorf("boot option %q: want key=value", word)
		}
		if seen[key] {
			return Options{}, fmt.Errorf("boot option %s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "napi":
			o.Mode, err = ParseMode(val)
		case "budget":
			o.Budget, err = parseBudget(val)
		case "mitigation":
			o.NoMitigation, err = parseOff(val)
		case "offload":
			o.NoOffload, err = parseOff(val)
		case "rng":
			if o.InsecureRNG = val == "insecure"; !o.InsecureRNG {
				err = fmt.Errorf("want insecure (the only choice to make: real sources are used when present)")
			}
		default:
			err = fmt.Errorf("unknown key (known: napi, budget, mitigation, offload, rng)")
		}
		if err != nil {
			return Options{}, fmt.Errorf("boot option %s: %w", word, err)
		}
	}
	return o, nil
}

// ParseMode parses a NAPI mode name as napi.Mode.String prints it.
func ParseMode(s string) (napi.Mode, error) {
	for _, m := range []napi.Mode{napi.ModeNAPI, napi.ModeInterrupt, napi.ModeBusyPoll} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q (want napi, interrupt or busypoll)", s)
}

func parseBudget(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxBudget {
		return 0, fmt.Errorf("want a packet count in [1, %d]", MaxBudget)
	}
	return n, nil
}

// parseOff parses on|off and reports whether it is off.
func parseOff(s string) (bool, error) {
	switch s {
	case "on":
		return false, nil
	case "off":
		return true, nil
	}
	return false, fmt.Errorf("want on or off")
}
