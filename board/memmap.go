//go:build tamago

package board

import (
	"fmt"
	"unsafe"
)

// pvhStartInfo is the physical address of the PVH hvm_start_info, saved by
// cpuinit.
var pvhStartInfo uint64

// hvm_start_info and hvm_memmap_table_entry (Xen's arch-x86/hvm/start_info.h).
type startInfo struct {
	Magic         uint32
	Version       uint32
	Flags         uint32
	NrModules     uint32
	ModlistPaddr  uint64
	CmdlinePaddr  uint64
	RsdpPaddr     uint64
	MemmapPaddr   uint64
	MemmapEntries uint32
	_             uint32
}

type memmapEntry struct {
	Addr uint64
	Size uint64
	Type uint32
	_    uint32
}

const pvhMagic = 0x336ec578

// physical turns a physical address into a pointer: memory is identity
// mapped.
func physical(addr uint64) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(nil), uintptr(addr))
}

// MemoryType is an E820 range type.
type MemoryType uint32

// E820 range types.
const (
	MemoryRAM      MemoryType = 1
	MemoryReserved MemoryType = 2
	MemoryACPI     MemoryType = 3
	MemoryNVS      MemoryType = 4
	MemoryBad      MemoryType = 5
)

func (t MemoryType) String() string {
	switch t {
	case MemoryRAM:
		return "usable"
	case MemoryReserved:
		return "reserved"
	case MemoryACPI:
		return "ACPI data"
	case MemoryNVS:
		return "ACPI NVS"
	case MemoryBad:
		return "unusable"
	}
	return fmt.Sprintf("type %d", uint32(t))
}

// MemoryRange is one entry of the firmware's memory map.
type MemoryRange struct {
	Start, End uint64 // [Start, End)
	Type       MemoryType
}

func (r MemoryRange) String() string {
	return fmt.Sprintf("[%#010x-%#010x) %s", r.Start, r.End, r.Type)
}

// The loader's memory map and command line, copied at start-up because
// the start info may sit in page 0, which is unmapped afterwards.
var (
	bootInfoCopied bool
	memoryMap      []MemoryRange
	commandLine    string
)

func copyBootInfo() {
	memoryMap = readMemoryMap()
	commandLine = readCommandLine()
	rsdpAddr = readRSDP()
	bootInfoCopied = true
}

// MemoryMap returns the memory map the PVH loader passed.
func MemoryMap() []MemoryRange {
	if !bootInfoCopied {
		copyBootInfo()
	}
	return memoryMap
}

// CommandLine returns the kernel command line (QEMU's -append), if any.
func CommandLine() string {
	if !bootInfoCopied {
		copyBootInfo()
	}
	return commandLine
}

func readMemoryMap() []MemoryRange {
	info := (*startInfo)(physical(pvhStartInfo))
	if pvhStartInfo == 0 || info.Magic != pvhMagic || info.Version < 1 {
		return nil
	}
	entries := unsafe.Slice((*memmapEntry)(physical(info.MemmapPaddr)), info.MemmapEntries)
	var m []MemoryRange
	for _, e := range entries {
		// qboot's map ends with an empty entry.
		if e.Size != 0 {
			m = append(m, MemoryRange{e.Addr, e.Addr + e.Size, MemoryType(e.Type)})
		}
	}
	return m
}

func readCommandLine() string {
	info := (*startInfo)(physical(pvhStartInfo))
	if pvhStartInfo == 0 || info.Magic != pvhMagic || info.CmdlinePaddr == 0 {
		return ""
	}
	p := physical(info.CmdlinePaddr)
	n := 0
	for n < 4096 && *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

func readRSDP() uint64 {
	info := (*startInfo)(physical(pvhStartInfo))
	if pvhStartInfo == 0 || info.Magic != pvhMagic {
		return 0
	}
	return info.RsdpPaddr
}
