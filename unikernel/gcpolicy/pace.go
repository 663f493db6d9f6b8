// Package gcpolicy paces the garbage collector of a unikernel from the
// boot option gogc=: by default (0) it runs only when the heap nears the
// memory limit, half the runtime's RAM, rather than whenever the heap has
// doubled over the live data (Go's GOGC=100). A unikernel owns its RAM,
// and every cycle costs the only CPU its mark work and two stops of the
// world: with GOGC=100 and a live heap of a few MB that was a cycle every
// few seconds at a few MB/s of allocation, and a request that met one
// waited for it.
package gcpolicy

import (
	"fmt"
	"runtime/debug"
	"strconv"
)

// memoryLimitDivisor: the heap may take 1/memoryLimitDivisor of the
// runtime's RAM before the garbage collector must run.
const memoryLimitDivisor = 2

// Pace is the garbage collector's setting.
type Pace struct {
	GOGC        int   // -1: off
	MemoryLimit int64 // bytes
}

// For is the pace for boot option gogc= on a runtime with ram bytes.
func For(gogc int, ram uint64) Pace {
	p := Pace{GOGC: -1, MemoryLimit: int64(ram) / memoryLimitDivisor}
	if gogc > 0 {
		p.GOGC = gogc
	}
	return p
}

// Apply sets the runtime's memory limit and GC percentage to p.
func (p Pace) Apply() {
	debug.SetMemoryLimit(p.MemoryLimit)
	debug.SetGCPercent(p.GOGC)
}

// String says how the collector is paced, for the READY line.
func (p Pace) String() string {
	if p.GOGC < 0 {
		return fmt.Sprintf("off (memory limit %d MiB)", p.MemoryLimit>>20)
	}
	return strconv.Itoa(p.GOGC)
}
