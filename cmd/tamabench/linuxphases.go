//go:build linux

package main

import (
	"sort"
	"strings"
	"time"

	"tamanet/cmd/tamabench/internal/result"
	"tamanet/vm"
)

// linuxPhaseLines are the console lines that mark the Linux baseline's
// boot phases (it has no admin listener to report them): its init's line
// once the modules are loaded and eth0 has its address, and linuxd's
// READY once its listeners are bound.
var linuxPhaseLines = []struct{ phase, text string }{
	{"init_eth0", "init: eth0 "},
	{"ready", "READY linuxd"},
}

// consolePhases places the Linux baseline's boot phases on the host's
// clock, in ms since start, from when their console lines reached the
// host (the first of each; none for a line that never came).
func consolePhases(lines []vm.Line, start time.Time) []result.Phase {
	var phases []result.Phase
	for _, p := range linuxPhaseLines {
		for _, l := range lines {
			if strings.Contains(l.Text, p.text) {
				phases = append(phases, result.Phase{Name: p.phase, MS: float64(l.At.Sub(start)) / 1e6})
				break
			}
		}
	}
	sort.SliceStable(phases, func(i, j int) bool { return phases[i].MS < phases[j].MS })
	return phases
}

// addLinuxPhases writes the Linux baseline's console phases into the boot
// test of its result file, which "run" wrote without them.
func addLinuxPhases(path string, g *vm.Guest) error {
	f, err := result.Load(path)
	if err != nil {
		return err
	}
	boot := f.Find("boot")
	if boot == nil || len(boot.Phases) > 0 {
		return nil
	}
	boot.Phases = consolePhases(g.Console.Lines(), g.Start)
	return result.Save(path, f)
}
