package pcitest

import (
	"fmt"
	"sync"

	"tamanet/pci"
)

// MSIOptions describes an MSI capability for SetMSI.
type MSIOptions struct {
	Is64, PerVectorMask bool
	// Log2Vectors is Multiple Message Capable: the function asks for
	// 1<<Log2Vectors vectors.
	Log2Vectors uint8
}

// SetMSI implements an MSI capability at off, followed by next, writable
// where the specification lets software write: Message Control's enable
// and Multiple Message Enable, the address (dword aligned), the data, the
// mask bits of the vectors the function has; pending bits are read-only.
func (f *Function) SetMSI(off, next uint8, o MSIOptions) *Function {
	ctl := uint32(o.Log2Vectors) << 1
	if o.Is64 {
		ctl |= pci.MSI_CTRL_64BIT
	}
	if o.PerVectorMask {
		ctl |= pci.MSI_CTRL_PER_VECTOR
	}
	f.set(off, uint32(pci.CAP_ID_MSI)|uint32(next)<<8|ctl<<16,
		uint32(pci.MSI_CTRL_ENABLE|pci.MSI_CTRL_MME)<<16, 0)
	f.set(off+pci.MSI_ADDRESS_LO, 0, 0xFFFFFFFC, 0)
	data, mask := uint8(pci.MSI_DATA_32), uint8(pci.MSI_MASK_32)
	if o.Is64 {
		f.set(off+pci.MSI_ADDRESS_HI, 0, 0xFFFFFFFF, 0)
		data, mask = pci.MSI_DATA_64, pci.MSI_MASK_64
	}
	f.set(off+data, 0, 0xFFFF, 0)
	if o.PerVectorMask {
		f.set(off+mask, 0, uint32(uint64(1)<<(1<<o.Log2Vectors)-1), 0)
		f.set(off+mask+4, 0, 0, 0)
	}
	return f
}

// SetMSIX implements an MSI-X capability at off, followed by next, for a
// table of size entries at tableBIR/tableOff and a PBA at pbaBIR/pbaOff
// (offsets 8-byte aligned): only Message Control's Enable and Function
// Mask are writable. The table itself is the MSIXTable's business.
func (f *Function) SetMSIX(off, next uint8, size int, tableBIR uint8, tableOff uint32, pbaBIR uint8, pbaOff uint32) *Function {
	f.set(off, uint32(pci.CAP_ID_MSIX)|uint32(next)<<8|uint32(size-1)<<16,
		uint32(pci.MSIX_CTRL_ENABLE|pci.MSIX_CTRL_FUNCTION_MASK)<<16, 0)
	f.set(off+pci.MSIX_TABLE, tableOff|uint32(tableBIR), 0, 0)
	f.set(off+pci.MSIX_PBA, pbaOff|uint32(pbaBIR), 0, 0)
	return f
}

// Message is one MSI-X message a MSIXTable sent.
type Message struct {
	Entry int
	Addr  uint64
	Data  uint32
}

// MSIXTable models the MSI-X table and Pending Bit Array of a function
// set up with SetMSIX, in one memory BAR, as the function's side sees
// them: Raise sends an entry's message, or sets its pending bit while the
// entry or the function is masked; unmasking an entry with its pending bit
// set sends the message then. It implements pci.Registers over the BAR and
// is safe for concurrent use.
type MSIXTable struct {
	space    *Space
	addr     pci.Address
	cap      uint8
	tableOff uint32
	pbaOff   uint32

	mu      sync.Mutex
	entries [][4]uint32
	pending []bool
	sent    []Message
	// Stray counts accesses outside the table and PBA, or not 4-byte
	// aligned: a driver bug.
	Stray int
}

var _ pci.Registers = (*MSIXTable)(nil)

// NewMSIXTable returns the table of the function at a, whose MSI-X
// capability is at cap, with every entry masked as after reset. The
// table and PBA must share one BAR for this model.
func NewMSIXTable(s *Space, a pci.Address, cap uint8) *MSIXTable {
	f := s.Function(a)
	size := int(f.Peek32(cap)>>16&pci.MSIX_CTRL_TABLE_SIZE) + 1
	t := &MSIXTable{
		space: s, addr: a, cap: cap,
		tableOff: f.Peek32(cap+pci.MSIX_TABLE) &^ pci.MSIX_BIR_MASK,
		pbaOff:   f.Peek32(cap+pci.MSIX_PBA) &^ pci.MSIX_BIR_MASK,
		entries:  make([][4]uint32, size),
		pending:  make([]bool, size),
	}
	if f.Peek32(cap+pci.MSIX_TABLE)&pci.MSIX_BIR_MASK != f.Peek32(cap+pci.MSIX_PBA)&pci.MSIX_BIR_MASK {
		panic("pcitest: MSIXTable models a table and PBA in one BAR")
	}
	for i := range t.entries {
		t.entries[i][3] = pci.MSIX_VECTOR_CTRL_MASKED
	}
	return t
}

// control reads Message Control through the space, as the function sees
// it.
func (t *MSIXTable) control() uint16 {
	t.space.mu.Lock()
	defer t.space.mu.Unlock()
	return uint16(t.space.fns[t.addr].peek(t.cap) >> 16)
}

// Read32 implements pci.Registers.
func (t *MSIXTable) Read32(off uint32) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, reg, ok := t.entryReg(off); ok {
		return t.entries[i][reg]
	}
	if off >= t.pbaOff && off%4 == 0 && int(off-t.pbaOff)/4*32 < len(t.pending) {
		var v uint32
		first := int(off-t.pbaOff) / 4 * 32
		for b := 0; b < 32 && first+b < len(t.pending); b++ {
			if t.pending[first+b] {
				v |= 1 << b
			}
		}
		return v
	}
	t.Stray++
	return 0
}

// Write32 implements pci.Registers. The PBA is read-only.
func (t *MSIXTable) Write32(off uint32, val uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, reg, ok := t.entryReg(off)
	if !ok {
		t.Stray++
		return
	}
	if reg == 3 {
		val &= pci.MSIX_VECTOR_CTRL_MASKED // the rest is reserved
	}
	t.entries[i][reg] = val
	if reg == 3 && val == 0 && t.pending[i] {
		t.deliver(i)
	}
}

func (t *MSIXTable) entryReg(off uint32) (entry, reg int, ok bool) {
	if off < t.tableOff || off%4 != 0 {
		return 0, 0, false
	}
	i := int(off-t.tableOff) / pci.MSIX_ENTRY_SIZE
	if i >= len(t.entries) {
		return 0, 0, false
	}
	return i, int(off-t.tableOff) % pci.MSIX_ENTRY_SIZE / 4, true
}

// deliver sends entry i's message if nothing masks it, else marks it
// pending.
func (t *MSIXTable) deliver(i int) {
	ctl := t.control()
	if ctl&pci.MSIX_CTRL_ENABLE == 0 {
		return // the function uses INTx# then: nothing to send here
	}
	if ctl&pci.MSIX_CTRL_FUNCTION_MASK != 0 || t.entries[i][3]&pci.MSIX_VECTOR_CTRL_MASKED != 0 {
		t.pending[i] = true
		return
	}
	t.pending[i] = false
	e := t.entries[i]
	t.sent = append(t.sent, Message{Entry: i, Addr: uint64(e[1])<<32 | uint64(e[0]), Data: e[2]})
}

// Raise is the function signalling entry.
func (t *MSIXTable) Raise(entry int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if entry < 0 || entry >= len(t.entries) {
		panic(fmt.Sprintf("pcitest: MSI-X entry %d outside a %d-entry table", entry, len(t.entries)))
	}
	t.deliver(entry)
}

// Sent returns the messages sent so far and forgets them.
func (t *MSIXTable) Sent() []Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sent
	t.sent = nil
	return s
}
