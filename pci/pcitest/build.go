package pcitest

import (
	"fmt"
	"math/bits"

	"tamanet/pci"
)

// Writable bits of the common header registers.
const (
	// commandWritable: I/O, memory, bus master, parity error response,
	// SERR# enable and interrupt disable.
	commandWritable = pci.COMMAND_IO_SPACE | pci.COMMAND_MEMORY_SPACE |
		pci.COMMAND_BUS_MASTER | 1<<6 | 1<<8 | pci.COMMAND_INTX_DISABLE
	// statusClearable: master data parity error, signaled target abort,
	// received target/master abort, signaled system error, detected
	// parity error.
	statusClearable = 1<<8 | 1<<11 | 1<<12 | 1<<13 | 1<<14 | 1<<15
)

// Header is what Add puts in a function's predefined header.
type Header struct {
	VendorID, DeviceID                      uint16
	BaseClass, SubClass, ProgIF, RevisionID uint8
	// HeaderType is pci.HEADER_TYPE_DEVICE, _BRIDGE or _CARDBUS (or any
	// other value, to test rejection).
	HeaderType    uint8
	MultiFunction bool
	// SubsystemVendorID and SubsystemID go into type 0 headers.
	SubsystemVendorID, SubsystemID uint16
	InterruptLine, InterruptPin    uint8
	// Command is the Command register as firmware left it.
	Command uint16
}

// Add creates the function at a with header h, replacing any function
// there, and returns it for further setup.
func (s *Space) Add(a pci.Address, h Header) *Function {
	f := &Function{}
	f.set(pci.VENDOR_ID, uint32(h.VendorID)|uint32(h.DeviceID)<<16, 0, 0)
	f.set(pci.COMMAND, uint32(h.Command), commandWritable, statusClearable<<16)
	f.set(pci.REVISION_ID, uint32(h.RevisionID)|uint32(h.ProgIF)<<8|
		uint32(h.SubClass)<<16|uint32(h.BaseClass)<<24, 0, 0)
	ht := uint32(h.HeaderType)
	if h.MultiFunction {
		ht |= pci.HEADER_TYPE_MULTI_FUNCTION
	}
	// Cache Line Size and Latency Timer are read-write.
	f.set(pci.CACHE_LINE_SIZE, ht<<16, 0x0000FFFF, 0)
	switch h.HeaderType {
	case pci.HEADER_TYPE_DEVICE:
		f.nBARs = 6
		f.set(pci.SUBSYSTEM_VENDOR_ID, uint32(h.SubsystemVendorID)|uint32(h.SubsystemID)<<16, 0, 0)
	case pci.HEADER_TYPE_BRIDGE:
		f.nBARs = 2
	case pci.HEADER_TYPE_CARDBUS:
		f.nBARs = 1
	}
	// Interrupt Line is read-write, Interrupt Pin read-only.
	f.set(pci.INTERRUPT_LINE, uint32(h.InterruptLine)|uint32(h.InterruptPin)<<8, 0xFF, 0)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.fns[a] = f
	return f
}

// BAR describes a Base Address Register for SetBAR.
type BAR struct {
	Kind         pci.BARKind
	Prefetchable bool
	// Addr is the address firmware assigned, a multiple of Size; Size is
	// a power of two, at least 16 for memory and 4 for I/O.
	Addr, Size uint64
	// IO16 makes an I/O BAR decode only 16 address bits, so its upper
	// half is read-only zero.
	IO16 bool
}

// SetBAR implements BAR i as b. It panics if b is not something a device
// could implement, as that is a mistake in the test, not a case to test
// (use SetRegister for those).
func (f *Function) SetBAR(i int, b BAR) *Function {
	regs := 1
	if b.Kind == pci.BARMem64 {
		regs = 2
	}
	min := uint64(16)
	if b.Kind == pci.BARIO {
		min = 4
	}
	switch {
	case i < 0 || i+regs > f.nBARs:
		panic(fmt.Sprintf("pcitest: BAR%d (%v) does not fit in a header with %d BARs", i, b.Kind, f.nBARs))
	case bits.OnesCount64(b.Size) != 1 || b.Size < min:
		panic(fmt.Sprintf("pcitest: BAR%d size %#x is not a power of two >= %d", i, b.Size, min))
	case b.Addr%b.Size != 0:
		panic(fmt.Sprintf("pcitest: BAR%d address %#x is not aligned to its size %#x", i, b.Addr, b.Size))
	case b.Kind != pci.BARMem64 && (b.Addr+b.Size-1)>>32 != 0:
		panic(fmt.Sprintf("pcitest: BAR%d: %v cannot hold %#x+%#x", i, b.Kind, b.Addr, b.Size))
	}

	off := uint8(pci.BASE_ADDRESS_0 + 4*i)
	mask := ^(b.Size - 1) // address bits software may write
	switch b.Kind {
	case pci.BARIO:
		m := uint32(mask) & pci.BAR_IO_ADDR_MASK
		if b.IO16 {
			m &= 0xFFFF
		}
		f.set(off, uint32(b.Addr)|pci.BAR_SPACE_IO, m, 0)
		f.barSpace[i] = pci.COMMAND_IO_SPACE
		return f
	case pci.BARMem32:
		f.set(off, uint32(b.Addr)|flags(b, pci.BAR_MEM_TYPE_32), uint32(mask)&pci.BAR_MEM_ADDR_MASK, 0)
	case pci.BARMem64:
		f.set(off, uint32(b.Addr)|flags(b, pci.BAR_MEM_TYPE_64), uint32(mask)&pci.BAR_MEM_ADDR_MASK, 0)
		f.set(off+4, uint32(b.Addr>>32), uint32(mask>>32), 0)
		f.barSpace[i+1] = pci.COMMAND_MEMORY_SPACE
	default:
		panic(fmt.Sprintf("pcitest: BAR%d: unknown kind %v", i, b.Kind))
	}
	f.barSpace[i] = pci.COMMAND_MEMORY_SPACE
	return f
}

func flags(b BAR, memType uint32) uint32 {
	if b.Prefetchable {
		return memType | pci.BAR_MEM_PREFETCHABLE
	}
	return memType
}

// SetBuses sets a bridge's primary, secondary and subordinate bus numbers,
// which software may rewrite.
func (f *Function) SetBuses(primary, secondary, subordinate uint8) *Function {
	// The fourth byte is the Secondary Latency Timer, also read-write.
	f.set(pci.PRIMARY_BUS_NUMBER, uint32(primary)|uint32(secondary)<<8|uint32(subordinate)<<16, 0xFFFFFFFF, 0)
	return f
}

// SetCapabilityPointer sets the Capabilities Pointer (at 0x34, or 0x14 in
// a CardBus header) to ptr and the Status register's Capabilities List bit.
func (f *Function) SetCapabilityPointer(ptr uint8) *Function {
	reg := uint8(pci.CAPABILITIES_POINTER)
	if f.cfg[pci.HEADER_TYPE]&0x7F == pci.HEADER_TYPE_CARDBUS {
		reg = pci.CARDBUS_CAPABILITY_PTR
	}
	f.setField(reg, 0xFF<<(8*(reg&3)), uint32(ptr)<<(8*(reg&3)), 0, 0)
	f.cfg[pci.STATUS] |= pci.STATUS_CAPABILITIES_LIST
	return f
}

// SetCapability writes a capability header, ID and next pointer, at off;
// both bytes are read-only. The rest of the dword is left alone. It panics
// if off is not dword aligned, as capabilities always are.
func (f *Function) SetCapability(off, id, next uint8) *Function {
	if off&3 != 0 {
		panic(fmt.Sprintf("pcitest: capability offset %#x is not dword aligned", off))
	}
	f.setField(off, 0xFFFF, uint32(id)|uint32(next)<<8, 0, 0)
	return f
}

// SetStatusBits sets bits in the Status register the way the device does
// when it records an event, whether or not software could write them.
func (f *Function) SetStatusBits(bits uint16) *Function {
	f.cfg[pci.STATUS] |= byte(bits)
	f.cfg[pci.STATUS+1] |= byte(bits >> 8)
	return f
}

// SetBridgeWindows implements a bridge's address windows as a reset leaves
// them (base and limit 0): the I/O window (with 32-bit I/O addressing when
// io32), the memory window and a 64-bit prefetchable window, each writable
// in the bits the PCI-to-PCI Bridge specification lets software write.
func (f *Function) SetBridgeWindows(io32 bool) *Function {
	ioCap := uint32(0)
	if io32 {
		ioCap = pci.BRIDGE_IO_32BIT
	}
	// I/O base and limit, then Secondary Status (write-one-to-clear).
	f.set(pci.IO_BASE, ioCap|ioCap<<8, pci.BRIDGE_IO_ADDR_MASK|pci.BRIDGE_IO_ADDR_MASK<<8, statusClearable<<16)
	f.set(pci.MEMORY_BASE, 0, pci.BRIDGE_MEMORY_ADDR_MSK|pci.BRIDGE_MEMORY_ADDR_MSK<<16, 0)
	f.set(pci.PREF_MEMORY_BASE, 1|1<<16, pci.BRIDGE_MEMORY_ADDR_MSK|pci.BRIDGE_MEMORY_ADDR_MSK<<16, 0)
	f.set(pci.PREF_BASE_UPPER32, 0, 0xFFFFFFFF, 0)
	f.set(pci.PREF_LIMIT_UPPER32, 0, 0xFFFFFFFF, 0)
	if io32 {
		f.set(pci.IO_BASE_UPPER16, 0, 0xFFFFFFFF, 0)
	}
	return f
}
