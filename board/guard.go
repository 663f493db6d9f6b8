//go:build tamago && linkcpuinit

package board

// unmapPage0 removes the mapping of the first 4 KiB page, so that nil
// pointer dereferences fault (cpuinit_amd64.s).
func unmapPage0()
