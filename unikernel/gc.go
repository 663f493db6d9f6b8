//go:build tamago

package unikernel

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
)

// memoryLimitDivisor: the heap may take 1/memoryLimitDivisor of the
// runtime's RAM before the garbage collector must run.
const memoryLimitDivisor = 2

// gcPace is the garbage collector's setting, for GET /stats.
var gcPace struct {
	gogc        int   // -1: off
	memoryLimit int64 // bytes
}

// setGCPace paces the garbage collector from the boot option gogc=: by
// default (0) it runs only when the heap nears the memory limit, half the
// runtime's RAM, rather than whenever the heap has doubled over the live
// data (Go's GOGC=100). A unikernel owns its RAM, and every cycle costs the
// only CPU its mark work and two stops of the world: with GOGC=100 and a
// live heap of a few MB that was a cycle every few seconds at a few MB/s
// of allocation, and a request that met one waited for it.
func setGCPace(gogc int) {
	start, end := runtime.MemRegion()
	gcPace.memoryLimit = int64(end-start) / memoryLimitDivisor
	debug.SetMemoryLimit(gcPace.memoryLimit)
	gcPace.gogc = -1
	if gogc > 0 {
		gcPace.gogc = gogc
	}
	debug.SetGCPercent(gcPace.gogc)
}

// gogcString says how the collector is paced, for the READY line.
func gogcString() string {
	if gcPace.gogc < 0 {
		return fmt.Sprintf("off (memory limit %d MiB)", gcPace.memoryLimit>>20)
	}
	return strconv.Itoa(gcPace.gogc)
}
