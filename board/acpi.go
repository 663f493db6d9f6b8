//go:build tamago

package board

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// ACPI holds what the kernel needs from the firmware's ACPI tables (ACPI
// 6.x, sections 5.2.5 RSDP, 5.2.7/8 RSDT/XSDT, 5.2.9 FADT, 5.2.12 MADT).
type ACPI struct {
	LAPIC     uint32           // local APIC base
	IOAPICs   []IOAPIC         // I/O APICs
	Overrides []InterruptRoute // ISA IRQ -> GSI overrides
	// PM1aControl is the PM1a control port; S5Type the SLP_TYP value for
	// soft-off from the DSDT's \_S5 object (ok false if not found).
	PM1aControl uint16
	S5Type      uint16
	S5OK        bool
	// DSDT is the Differentiated System Description Table's AML, where
	// microvm lists its virtio-mmio transports.
	DSDT []byte
}

// IOAPIC is one MADT I/O APIC entry.
type IOAPIC struct {
	ID      uint8
	Addr    uint32
	GSIBase uint32
}

// InterruptRoute is one MADT interrupt source override: ISA IRQ Source
// arrives on GSI with the MPS INTI flags (polarity bits 0-1, trigger 2-3).
type InterruptRoute struct {
	Source uint8
	GSI    uint32
	Flags  uint16
}

// sdtHeader is the common ACPI system description table header.
type sdtHeader struct {
	Signature       [4]byte
	Length          uint32
	Revision        uint8
	Checksum        uint8
	OEMID           [6]byte
	OEMTableID      [8]byte
	OEMRevision     uint32
	CreatorID       uint32
	CreatorRevision uint32
}

var rsdpAddr uint64

// table returns the bytes of the ACPI table at physical address addr after
// checking its checksum.
func table(addr uint64) ([]byte, error) {
	h := (*sdtHeader)(physical(addr))
	if h.Length < uint32(unsafe.Sizeof(*h)) || h.Length > 1<<20 {
		return nil, fmt.Errorf("acpi: table at %#x has length %d", addr, h.Length)
	}
	b := unsafe.Slice((*byte)(physical(addr)), h.Length)
	if sum(b) != 0 {
		return nil, fmt.Errorf("acpi: %s at %#x fails its checksum", h.Signature[:], addr)
	}
	return b, nil
}

func sum(b []byte) (s byte) {
	for _, c := range b {
		s += c
	}
	return
}

// findRSDP uses the PVH loader's pointer, or scans the BIOS area.
func findRSDP() (uint64, error) {
	if rsdpAddr != 0 {
		return rsdpAddr, nil
	}
	for a := uint64(0xe0000); a < 0x100000; a += 16 {
		if bytes.Equal(unsafe.Slice((*byte)(physical(a)), 8), []byte("RSD PTR ")) &&
			sum(unsafe.Slice((*byte)(physical(a)), 20)) == 0 {
			return a, nil
		}
	}
	return 0, errors.New("acpi: no RSDP")
}

// tableAddrs returns the physical addresses of the tables the XSDT (or,
// before ACPI 2.0, the RSDT) lists.
func tableAddrs() ([]uint64, error) {
	rsdp, err := findRSDP()
	if err != nil {
		return nil, err
	}
	r := unsafe.Slice((*byte)(physical(rsdp)), 36)
	var tables []uint64
	if r[15] >= 2 && binary.LittleEndian.Uint64(r[24:]) != 0 {
		xsdt, err := table(binary.LittleEndian.Uint64(r[24:]))
		if err != nil {
			return nil, err
		}
		for i := 36; i+8 <= len(xsdt); i += 8 {
			tables = append(tables, binary.LittleEndian.Uint64(xsdt[i:]))
		}
	} else {
		rsdt, err := table(uint64(binary.LittleEndian.Uint32(r[16:])))
		if err != nil {
			return nil, err
		}
		for i := 36; i+4 <= len(rsdt); i += 4 {
			tables = append(tables, uint64(binary.LittleEndian.Uint32(rsdt[i:])))
		}
	}
	return tables, nil
}

// ReadACPI parses the MADT and FADT.
func ReadACPI() (*ACPI, error) {
	tables, err := tableAddrs()
	if err != nil {
		return nil, err
	}
	a := &ACPI{}
	for _, addr := range tables {
		t, err := table(addr)
		if err != nil {
			return nil, err
		}
		switch string(t[:4]) {
		case "APIC":
			a.parseMADT(t)
		case "FACP":
			if err := a.parseFADT(t); err != nil {
				return nil, err
			}
		}
	}
	rememberSoftOff(a)
	if a.LAPIC == 0 || len(a.IOAPICs) == 0 {
		return nil, errors.New("acpi: no MADT with a local APIC and an I/O APIC")
	}
	return a, nil
}

// FADT fields of the power management timer and the RTC (ACPI 6.x table
// 5.9, 5.11).
const (
	fadtPMTimerBlock  = 76  // PM_TMR_BLK, a port
	fadtPMTimerLength = 91  // PM_TMR_LEN, 4 if there is a timer
	fadtCentury       = 108 // CENTURY: the RTC's century register, 0 if none
	fadtBootArch      = 109 // IAPC_BOOT_ARCH
	fadtFlags         = 112 // Flags
	fadtMinLength     = fadtFlags + 4

	fadtTimerValExt     = 1 << 8  // TMR_VAL_EXT: the timer has 32 bits
	fadtHardwareReduced = 1 << 20 // HW_REDUCED_ACPI: no fixed hardware
	bootArchNoCMOSRTC   = 1 << 5  // IAPC_BOOT_ARCH: CMOS RTC not present
)

// fadt returns the FADT, nil if the firmware has none that reaches its
// Flags field (or no usable ACPI).
func fadt() []byte {
	tables, err := tableAddrs()
	if err != nil {
		return nil
	}
	for _, addr := range tables {
		t, err := table(addr)
		if err == nil && string(t[:4]) == "FACP" && len(t) >= fadtMinLength {
			return t
		}
	}
	return nil
}

// pmTimer returns the ACPI PM timer's port from the FADT and whether it
// counts in 32 bits; port 0 means there is none (or no usable ACPI).
func pmTimer() (port uint16, ext bool) {
	t := fadt()
	if t == nil {
		return 0, false
	}
	flags := binary.LittleEndian.Uint32(t[fadtFlags:])
	blk := binary.LittleEndian.Uint32(t[fadtPMTimerBlock:])
	if flags&fadtHardwareReduced != 0 || t[fadtPMTimerLength] != 4 || blk == 0 || blk > 0xFFFF {
		return 0, false
	}
	return uint16(blk), flags&fadtTimerValExt != 0
}

func (a *ACPI) parseMADT(t []byte) {
	a.LAPIC = binary.LittleEndian.Uint32(t[36:])
	for i := 44; i+2 <= len(t); {
		typ, n := t[i], int(t[i+1])
		if n < 2 || i+n > len(t) {
			return
		}
		e := t[i : i+n]
		switch {
		case typ == 1 && n >= 12:
			a.IOAPICs = append(a.IOAPICs, IOAPIC{ID: e[2], Addr: binary.LittleEndian.Uint32(e[4:]), GSIBase: binary.LittleEndian.Uint32(e[8:])})
		case typ == 2 && n >= 10:
			a.Overrides = append(a.Overrides, InterruptRoute{Source: e[3], GSI: binary.LittleEndian.Uint32(e[4:]), Flags: binary.LittleEndian.Uint16(e[8:])})
		}
		i += n
	}
}

func (a *ACPI) parseFADT(t []byte) error {
	if len(t) < 68 {
		return fmt.Errorf("acpi: FADT of %d bytes", len(t))
	}
	a.PM1aControl = uint16(binary.LittleEndian.Uint32(t[64:]))
	dsdt, err := table(uint64(binary.LittleEndian.Uint32(t[40:])))
	if err != nil {
		return err
	}
	a.S5Type, a.S5OK = s5Type(dsdt)
	a.DSDT = dsdt
	return nil
}

// s5Type finds Name(_S5_, Package(){a, b, ...}) in AML and returns a, the
// PM1a SLP_TYP for soft-off.
func s5Type(aml []byte) (uint16, bool) {
	i := bytes.Index(aml, []byte("_S5_"))
	if i < 1 || aml[i-1] != 0x08 || i+5 >= len(aml) || aml[i+4] != 0x12 {
		return 0, false
	}
	p := aml[i+5:]
	n := int(p[0]>>6) + 1 // PkgLength bytes
	if len(p) < n+2 {
		return 0, false
	}
	p = p[n+1:] // skip PkgLength and NumElements
	switch p[0] {
	case 0x00, 0x01: // ZeroOp, OneOp
		return uint16(p[0]), true
	case 0x0a: // BytePrefix
		if len(p) > 1 {
			return uint16(p[1]), true
		}
	}
	return 0, false
}
