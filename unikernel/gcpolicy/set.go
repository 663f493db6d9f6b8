//go:build tamago

package gcpolicy

import "runtime"

// Set paces the collector for boot option gogc= on the runtime's RAM
// (runtime.MemRegion) and returns the pace.
func Set(gogc int) Pace {
	start, end := runtime.MemRegion()
	p := For(gogc, uint64(end-start))
	p.Apply()
	return p
}
